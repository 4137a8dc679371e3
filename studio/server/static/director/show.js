/*
 * director/show.js: the top bar, the rundown (the running stage highlighted, a focus row the
 * arrows move), show control (START / NEXT, PAUSE / RESUME, SKIP, ABORT) and the operator's
 * inputs (a live subtitle line; a picture for image-to-poem).
 *
 * One of the director panel's scripts (studio/server/static/director/, see panel.js): plain
 * ES2020, sharing the page's global scope; it only declares, and main.js starts the panel.
 */
"use strict";

function renderTop(state) {
  const show = state.show || {};
  setText($("show-title"), show.title || "—");
  const status = state.show ? show.status || "idle" : "unknown";
  setData($("show-status"), "status", status);
  setText($("show-status"), status.toUpperCase());
  const cur = state.current_stage;
  const stage = cur == null ? null : state.stages.find((s) => s.index === cur);
  setText($("now-stage"), stage ? `${cur + 1}/${state.stages.length} · ${stage.title} · ${stage.status}` : "—");
  const q = state.question;
  setText($("now-question"), q ? `question ${q.number}/${q.of}` : "\u00a0");
}

function renderRundown(state) {
  const stages = state.stages || [];
  $("rundown-empty").hidden = stages.length > 0;
  if (!ui.focusPinned || ui.focus == null || ui.focus >= stages.length) {
    ui.focus = stages.length ? Math.max(0, Math.min(stages.length - 1, state.current_stage == null ? 0 : state.current_stage)) : null;
    if (ui.focus == null) ui.focusPinned = false;
  }
  syncKeyed($("rundown"), stages.map((s) => String(s.index)), (key) => {
    return el("li", { "data-testid": `stage-${key}` }, [
      el("span", { class: "num" }), el("div", {}, [el("div", { class: "title" }), el("div", { class: "kind" })]), el("span", { class: "st" }),
    ]);
  }, (row, key) => {
    const s = stages.find((x) => String(x.index) === key);
    setData(row, "index", s.index);
    setData(row, "status", s.status);
    setData(row, "current", state.current_stage === s.index);
    setData(row, "focus", ui.focus === s.index);
    setText(row.querySelector(".num"), s.index + 1);
    setText(row.querySelector(".title"), s.title);
    setText(row.querySelector(".kind"), s.kind);
    setText(row.querySelector(".st"), state.current_stage === s.index && s.status === "running" ? "ON AIR" : s.status.toUpperCase());
  });
  const f = ui.focus == null ? null : stages.find((s) => s.index === ui.focus);
  setText($("focus-text"), f ? `Focus: ${f.index + 1}. ${f.title} — ${f.kind}, ${f.status}` : "—");
  setText($("next-hint"), predictGo(state));
}

// What Enter would do, by the controller's rules; the studio decides, this only informs.
function predictGo(state) {
  const status = showStatus(state), stages = state.stages || [], cur = state.current_stage;
  if (!state.show) return "";
  if (status === "completed" || status === "aborted") return `Enter ▸ refused: the show has ${status}`;
  if (status === "idle") return stages.length ? `Enter ▸ START: stage 1 · ${stages[0].title}` : "Enter ▸ START";
  const running = cur != null && stages[cur] && stages[cur].status === "running";
  if (running) return `Enter ▸ refused while stage ${cur + 1} runs (S S skips it)`;
  const following = cur == null ? 0 : cur + 1;
  return following >= stages.length ? "Enter ▸ NEXT ends the show (last stage done)" : `Enter ▸ NEXT: stage ${following + 1} · ${stages[following].title}`;
}

function renderControls(state) {
  const status = showStatus(state);
  const go = goCommand();
  setText($("btn-go-label"), go === "start" ? "START SHOW" : "NEXT STAGE");
  setData($("btn-go"), "pending", pendingOf(go));
  const resume = status === "paused";
  setData($("btn-pause"), "mode", resume ? "resume" : "pause");
  setText($("btn-pause-label"), resume ? "RESUME" : "PAUSE");
  setData($("btn-pause"), "pending", pendingOf("pause") || pendingOf("resume"));
  setData($("btn-skip"), "pending", pendingOf("skip"));
  setData($("btn-abort"), "pending", pendingOf("abort"));
  const armed = ui.armed && Date.now() < ui.armed.until ? ui.armed : null;
  if (!armed) ui.armed = null;
  setData($("btn-skip"), "armed", !!armed && armed.command === "skip");
  setData($("btn-abort"), "armed", !!armed && armed.command === "abort");
  setData($("btn-refresh-all"), "armed", !!armed && armed.key === "btn-refresh-all");
  setData($("dump-all"), "armed", !!armed && armed.command === "dump");
  setData($("dump-all"), "pending", pendingOf("dump", (e) => !e.args.contestant));
  setText($("btn-pause-sub"), resume ? "paused: holding before the next question" : "holds before the next question");
}

function moveFocus(to) {
  const n = ui.client ? ui.client.state.stages.length : 0;
  if (!n) return;
  ui.focus = Math.max(0, Math.min(n - 1, to));
  ui.focusPinned = true;
  redraw();
  const row = document.querySelector(`#rundown li[data-index="${ui.focus}"]`);
  if (row) row.scrollIntoView({ block: "nearest" });
}

// Show control's buttons and the operator's forms.
function wireShow() {
  onClick("btn-go", () => actions.go());
  onClick("btn-pause", () => actions.pauseToggle());
  onClick("btn-skip", () => actions.skip("btn-skip"));
  onClick("btn-abort", () => actions.abort("btn-abort"));
  // Operator: a live subtitle line (the answer is its director.command event, like every command).
  $("sub-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    if (!canOperate()) { flash("LOCKED — nothing was sent"); return; }
    const text = $("sub-text").value.trim();
    if (!text) { setText($("sub-note"), "type a line first"); return; }
    $("sub-text").value = "";
    setText($("sub-note"), "SENT… " + text);
    await send("subtitle_line", { text });
  });
  onClick("sub-end", () => send("subtitle_line", { end: true }));
  // A picture upload is not a command: the studio answers with the name to use in a script.
  $("img-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const file = $("img-file").files[0];
    if (!file) { setText($("img-note"), "choose a picture first"); return; }
    setText($("img-note"), "uploading…");
    try {
      const res = await fetch("/api/images", { method: "POST", headers: { Authorization: "Bearer " + ui.token }, body: file });
      const body = await res.json().catch(() => ({}));
      setText($("img-note"), res.status === 201
        ? `stored as ${body.image} (${body.width}×${body.height} ${body.format}) — use image: ${body.image} in the script`
        : `refused (${res.status}): ${body.error || res.statusText}`);
    } catch (err) {
      setText($("img-note"), "no answer from the studio: " + err.message);
    }
  });
}
