/*
 * generation-path.js: the generation path (generation-path.html). Data: contestant (an id;
 * default: the first contestant), token (1-based token to open; default: the closest call so
 * far), threshold (margin under which a token counts as a close call; default 0.25), title.
 *
 * The steps come from the shared show state (answers[contestant].path, built from answer.path
 * events: only text that aired, masked as it aired). margin = p(emitted) - p(best other): a close
 * call is a token where the model nearly said something else. All model text via textContent.
 */
(function () {
  "use strict";

  const { el, setText, toggle, str, t, contestant, slot } = window.GavelUI;
  const q = (id) => document.querySelector(`[data-testid="${id}"]`);
  const parts = {
    title: q("gp-title"), name: q("gp-name"), answer: q("gp-answer"), at: q("gp-at"), bars: q("gp-bars"), roads: q("gp-roads"),
  };
  const ROADS = 5;
  const pct = (logprob) => Math.exp(logprob) * 100;
  const fmtPct = (p) => (p >= 10 ? p.toFixed(0) : p.toFixed(1)) + "%";
  const visible = (s) => String(s).replace(/\n/g, "⏎");

  function closeCalls(path, threshold) {
    return path.filter((s) => typeof s.margin === "number" && s.margin < threshold)
      .sort((a, b) => a.margin - b.margin);
  }

  function drawAnswer(path, chosen, threshold) {
    parts.answer.replaceChildren(...path.map((s) => {
      const span = el("span", "gp-tok", s.text);
      span.dataset.index = String(s.index);
      toggle(span, "close", typeof s.margin === "number" && s.margin < threshold);
      toggle(span, "chosen", chosen != null && s.index === chosen.index);
      return span;
    }));
  }

  function drawBars(state, step) {
    if (!step) {
      setText(parts.at, t(state, "path.waiting"));
      parts.bars.replaceChildren();
      return;
    }
    setText(parts.at, t(state, "path.at", { index: step.index, text: visible(step.text), p: fmtPct(pct(step.logprob)) }));
    const alternatives = Array.isArray(step.alternatives) ? step.alternatives : [];
    parts.bars.replaceChildren(...alternatives.map((a) => {
      const p = pct(a.logprob);
      const row = el("li", "gp-bar");
      const fill = el("span", "gp-fill");
      fill.style.width = `${Math.max(0.5, Math.min(100, p))}%`;
      toggle(row, "emitted", a.text === step.text);
      row.append(fill, el("span", "gp-alt", visible(a.text) || "␣"), el("span", "gp-p", fmtPct(p)));
      return row;
    }));
  }

  function drawRoads(state, calls) {
    parts.roads.replaceChildren(...calls.slice(0, ROADS).map((s) => {
      const other = (s.alternatives || []).find((a) => a.text !== s.text);
      const li = el("li", "gp-road");
      li.append(el("span", "gp-said", `“${visible(s.text)}” ${fmtPct(pct(s.logprob))}`));
      if (other) li.append(el("span", "gp-vs", ` ${t(state, "path.instead_of")} `), el("span", "gp-other", `“${visible(other.text)}” ${fmtPct(pct(other.logprob))}`));
      return li;
    }));
  }

  function draw({ state, data }) {
    const id = str(data.contestant) || (state.contestants[0] ? state.contestants[0].id : "");
    const c = contestant(state, id);
    const answer = state.answers[id];
    const path = answer && Array.isArray(answer.path) ? answer.path : [];
    const threshold = typeof data.threshold === "number" ? data.threshold : Number(data.threshold) || 0.25;
    const calls = closeCalls(path, threshold);
    const wanted = Number(data.token);
    const chosen = (wanted && path.find((s) => s.index === wanted)) || calls[0] || path[path.length - 1] || null;
    setText(parts.title, str(data.title) || t(state, "path.title"));
    setText(parts.name, c ? c.name : id);
    parts.name.dataset.slot = slot(state, id);
    drawAnswer(path, chosen, threshold);
    drawBars(state, chosen);
    drawRoads(state, calls);
  }

  window.GavelUI.mount({ graphic: "path", draw });
})();
