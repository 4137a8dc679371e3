/*
 * training.js: the training board (training.html). Data: title, subtitle, contestant (an id:
 * only that contestant; default: everyone with a job or a qualification).
 *
 * From the shared show state's `training` (training.progress / training.finished /
 * qualification.result events): per contestant the job's kind, step of max_steps as a bar, loss,
 * ETA while it runs, how it ended (completed, budget exceeded: the last checkpoint is kept,
 * failed), and the qualification score. Text via textContent only.
 */
(function () {
  "use strict";

  const { el, setText, toggle, str, t, word, contestant, slot, fmtSeconds } = window.GavelUI;
  const q = (id) => document.querySelector(`[data-testid="${id}"]`);
  const parts = { title: q("tr-title"), subtitle: q("tr-subtitle"), rows: q("tr-rows"), empty: q("tr-empty") };

  function row(state, id, job) {
    const c = contestant(state, id);
    const li = el("li", "tr-row");
    li.dataset.slot = slot(state, id);
    li.dataset.status = str(job.status);
    li.dataset.testid = `tr-row-${id}`;
    const max = Number(job.max_steps) || 0;
    const step = Number(job.step) || 0;
    const bar = el("div", "tr-bar");
    const fill = el("div", "tr-fill");
    fill.style.width = `${max > 0 ? Math.min(100, (100 * step) / max) : job.status && job.status !== "running" ? 100 : 0}%`;
    bar.append(fill);
    const figures = [];
    if (job.kind) figures.push(String(job.kind).toUpperCase());
    if (job.job) figures.push(max ? t(state, "train.step", { step, max }) : t(state, "train.step_only", { step }));
    if (typeof job.loss === "number") figures.push(t(state, "train.loss", { loss: job.loss.toFixed(3) }));
    if (job.status === "running" && typeof job.eta_s === "number") figures.push(t(state, "train.eta", { eta: fmtSeconds(job.eta_s) }));
    if (Number(job.world_size) > 1) figures.push(t(state, "train.ranks", { count: job.world_size }));
    const qual = job.qualification;
    li.append(
      el("div", "tr-name", c ? c.name : id),
      el("div", "tr-status", job.job ? word(state, "train.status.", job.status).toUpperCase() : ""),
      bar,
      el("div", "tr-figures", figures.join(" · ")),
      el("div", "tr-qual", qual && typeof qual.score === "number" ? t(state, "train.qualification", { score: Math.round(qual.score * 100) }) : ""),
    );
    if (job.status === "failed" && job.reason) li.append(el("div", "tr-reason", str(job.reason)));
    return li;
  }

  function draw({ state, data }) {
    const only = str(data.contestant);
    const training = state.training || {};
    const ids = Object.keys(training).filter((id) => !only || id === only);
    setText(parts.title, str(data.title) || t(state, "train.title"));
    setText(parts.subtitle, str(data.subtitle) || t(state, "train.subtitle"));
    parts.rows.replaceChildren(...ids.map((id) => row(state, id, training[id])));
    toggle(parts.empty, "hidden", ids.length > 0);
  }

  window.GavelUI.mount({ graphic: "training", draw });
})();
