/*
 * director/contestants.js: the question on air and each contestant's card (status, tokens,
 * verdict, metrics, engine, fairness, heatmap and path, the answer as text), the scoreboard, the
 * engines' health, uncertain verdicts waiting for RIGHT / WRONG, training and qualification,
 * and the leaderboard with the judges' scores.
 *
 * One of the director panel's scripts (studio/server/static/director/, see panel.js): plain
 * ES2020, sharing the page's global scope; it only declares, and main.js starts the panel.
 */
"use strict";

function noteTraining(ev, d) {
  if (!["training.progress", "training.finished", "qualification.result"].includes(ev.type) || typeof d.contestant !== "string") return;
  const row = ui.training.get(d.contestant) || {};
  if (ev.type === "qualification.result") Object.assign(row, { score: d.score, samples: d.samples });
  else {
    if (row.job !== d.job) Object.assign(row, { job: d.job, kind: d.kind, loss: null, eta_s: null, reason: "" });
    if (ev.type === "training.progress") Object.assign(row, { step: d.step, max_steps: d.max_steps, loss: d.loss ?? row.loss, eta_s: d.eta_s, status: "running", rank: d.rank, world_size: d.world_size });
    else Object.assign(row, { step: d.steps, status: d.status, reason: d.reason || "", eta_s: null });
  }
  ui.training.set(d.contestant, row);
  ui.trainingVersion++;
}

// Uncertain verdicts (state.uncertain, from answer.graded with correct null), oldest first.
function uncertainOf(state) {
  const waiting = isObject(state.uncertain) ? state.uncertain : {};
  return Object.keys(waiting).filter((k) => isObject(waiting[k])).map((key) => ({ key, v: waiting[key] }))
    .sort((a, b) => (a.v.ts || 0) - (b.v.ts || 0));
}

function decidePending(v) {
  return pendingOf("decide", (e) => e.args.question_id === v.question_id && e.args.contestant === v.contestant);
}

// The answer's fairness record (answer.fairness): what it ran under, and why it is flagged.
function fairnessText(f) {
  const hw = isObject(f.hardware) ? `${f.hardware.device} ${f.hardware.name}${f.hardware.count ? " ×" + f.hardware.count : ""}` : "";
  const sp = isObject(f.sampling) ? `T ${f.sampling.temperature} · top_p ${f.sampling.top_p} · seed ${f.sampling.seed == null ? "—" : f.sampling.seed}` : "";
  const wait = f.queue_wait_source === "none" ? "queue —" : `queue ${secs(f.queue_wait_s)}${f.queue_wait_source === "first_token" ? " (≤ TTFT)" : ""}`;
  const parts = [`fair: ${f.engine}`, hw, f.adapter ? "LoRA " + f.adapter : "", sp, wait, `load ${f.load_at_start}→${f.load_max}`];
  const head = parts.filter(Boolean).join(" · ");
  return f.flagged ? `⚠ WORSE CONDITIONS: ${(f.flags || []).join("; ")} — ${head}` : head;
}

const STATUS_TEXT = { streaming: "STREAMING", done: "DONE", dnf: "DNF", timeout: "TIMEOUT", cancelled: "CANCELLED" };

function renderContestants(state) {
  const q = state.question;
  setText($("qmeta"), q ? `stage ${q.stage + 1} · question ${q.number}/${q.of} · ${q.kind} · ${q.question_id} · limit ${q.time_limit_s}s` : "no question on air");
  setText($("qtext"), q ? q.text : "");
  const answers = state.answers || {};
  let streaming = 0;
  syncKeyed($("contestants"), (state.contestants || []).map((c) => c.id), (id) => {
    return el("div", { class: "card", "data-testid": `contestant-${id}` }, [
      el("div", { class: "head" }, [el("span", { class: "name" }), el("span", { class: "team" })]),
      el("div", { class: "row" }, [el("span", { class: "badge status", "data-testid": `status-${id}` }), el("span", { class: "tok", "data-testid": `tokens-${id}` }), el("span", { text: "tok" }), el("span", { class: "badge verdict", "data-testid": `verdict-${id}` }),
        el("span", { class: "badge held", "data-testid": `held-${id}`, text: "HELD", hidden: "" }),
        el("span", { class: "badge dumped", "data-testid": `dumped-${id}`, text: "WITHDRAWN", hidden: "", title: "dumped by the director: its text never airs" })]),
      el("div", { class: "reason", "data-testid": `reason-${id}` }),
      el("div", { class: "grade", "data-testid": `grade-${id}` }),
      el("div", { class: "row metrics" }),
      el("div", { class: "row engine", "data-testid": `engine-of-${id}` }),
      el("div", { class: "row think" }, [thinkButton(id), el("span", { class: "heat", "data-testid": `attention-${id}` }), el("span", { class: "path", "data-testid": `path-${id}` })]),
      el("div", { class: "fairness", "data-testid": `fairness-${id}` }),
      el("div", { class: "answer", "data-testid": `answer-${id}` }),
    ]);
  }, (card, id) => {
    const c = state.contestants.find((x) => x.id === id);
    const a = answers[id];
    const status = a ? a.status : "idle";
    if (status === "streaming") streaming++;
    setData(card, "status", status);
    setText(card.querySelector(".name"), c.name || id);
    setText(card.querySelector(".team"), [c.team, c.model, c.adapter ? "LoRA " + c.adapter : ""].filter(Boolean).join(" · "));
    setText(card.querySelector(".badge.status"), a ? STATUS_TEXT[status] || status.toUpperCase() : "WAITING");
    // A finished answer's count is its metrics' output_tokens (as core/state.py keeps it);
    // while streaming it is the running index of the last token event.
    const m = a && a.metrics;
    const tokens = a && a.status !== "streaming" && m && typeof m.output_tokens === "number" ? m.output_tokens : a ? a.tokens : "—";
    setText(card.querySelector(".tok"), tokens);
    const verdict = card.querySelector(".badge.verdict");
    const unsure = !!(a && a.uncertain && a.correct == null);
    verdict.className = "badge verdict" + (a && a.correct === true ? " ok" : a && a.correct === false ? " wrong" : unsure ? " unsure" : "");
    setText(verdict, a && a.correct === true ? "✓ " + (a.extracted == null ? "" : a.extracted) : a && a.correct === false ? "✗ " + (a.extracted == null ? "—" : a.extracted)
      : unsure ? "? UNCERTAIN" : "");
    verdict.hidden = !(a && (unsure || (a.correct !== null && a.correct !== undefined)));
    // Why the grader (or whoever decided) gave this verdict: the span it took and the rule.
    setText(card.querySelector(".grade"), a && a.grade_reason ? (a.decided_by ? "" : "grader: ") + a.grade_reason : "");
    setText(card.querySelector(".metrics"), m ? `TTFT ${secs(m.ttft)} · TPOT ${secs(m.tpot)} · E2E ${secs(m.e2e)}` : "");
    const dumped = !!(a && a.dumped);
    const held = !!(q && isObject(state.held) && isObject(state.held[q.question_id + ":" + id]));
    setData(card, "dumped", dumped);
    setData(card, "held", held);
    card.querySelector(".badge.dumped").hidden = !dumped;
    card.querySelector(".badge.held").hidden = !held;
    setText(card.querySelector(".reason"), a && a.status !== "streaming" && a.status !== "done" && a.reason ? a.reason : held ? "held: waiting for APPROVE / REJECT" : "");
    const engine = engineOf(c);
    const engineRow = card.querySelector(".engine");
    setData(engineRow, "health", engine ? engine.health : "unknown");
    setText(engineRow, engine ? `engine ${engine.name}: ${engine.text}` : "");
    renderThinking(card, state, q, a, id);
    const fairRow = card.querySelector(".fairness");
    const f = a && isObject(a.fairness) ? a.fairness : null;
    setData(fairRow, "flagged", !!(f && f.flagged));
    setText(fairRow, f ? fairnessText(f) : "");
    const box = card.querySelector(".answer");
    setData(box, "dumped", dumped);
    const text = a ? a.text : "";
    if (box.textContent !== text) { box.textContent = text; box.scrollTop = box.scrollHeight; }
  });
  setText($("answers-aside"), q ? `${streaming} streaming` : "");
  const sb = state.scoreboard;
  $("scoreboard").hidden = !(sb && Array.isArray(sb.rows) && sb.rows.length);
  if (sb && Array.isArray(sb.rows)) {
    const names = Object.fromEntries((state.contestants || []).map((c) => [c.id, c.name]));
    syncKeyed($("scoreboard").tBodies[0], sb.rows.map((r) => r.contestant), () => el("tr", {}, Array.from({ length: 7 }, () => el("td"))), (tr, id) => {
      const r = sb.rows.find((x) => x.contestant === id);
      const cells = [names[id] || id, `${r.correct}/${r.answered}`, `${Math.round(r.accuracy * 100)}%`, r.tokens, r.dnf, secs(r.ttft_median), secs(r.e2e_median)];
      cells.forEach((v, i) => setText(tr.children[i], v));
    });
  }
}

// "Seeing the model think": the heatmap button and what the studio said about it (attention
// events), and the answer's generation path in one line (tokens traced, close calls).
const CLOSE_CALL = 0.25;  // the path graphic's default threshold

function thinkButton(id) {
  const b = el("button", { type: "button", class: "mini", "data-control": "", "data-testid": `explain-${id}`, text: "HEATMAP",
    title: "compute the attention heatmap of this answer (off the hot path; cached)" });
  b.addEventListener("click", guard(() => actions.explain(id)));
  return b;
}

function renderThinking(card, state, q, a, id) {
  const heat = q && isObject(state.attention) ? state.attention[q.question_id + ":" + id] : null;
  const label = card.querySelector(".heat");
  setData(label, "state", heat ? heat.status : "none");
  setText(label, !heat ? "" : heat.status === "ready" ? `heatmap ready · ${heat.answer_tokens} tok · ${heat.seconds}s`
    : heat.status === "computing" ? "heatmap computing…" : `heatmap failed: ${heat.reason}`);
  const button = card.querySelector(".think .mini");
  setData(button, "pending", pendingOf("explain", (e) => e.args.contestant === id));
  const path = a && Array.isArray(a.path) ? a.path : [];
  const close = path.filter((s) => typeof s.margin === "number" && s.margin < CLOSE_CALL).length;
  setText(card.querySelector(".path"), path.length ? `path ${path.length} tok · ${close} close call${close === 1 ? "" : "s"}` : "");
}

// A contestant's engine: named in its info when the studio says (c.engine), else the only
// engine there is. With several engines and no name, the card says nothing rather than guess.
function engineOf(c) {
  const api = ui.api;
  const names = Object.keys(api.engines || {}).concat(Object.keys(api.engine_errors || {}).filter((n) => !(n in (api.engines || {}))));
  const name = typeof c.engine === "string" ? c.engine : names.length === 1 ? names[0] : null;
  if (!name || api.ok !== true) return null;
  if (api.engine_errors[name]) return { name, health: "down", text: "DOWN — " + api.engine_errors[name] };
  if (!api.engines_ready) return { name, health: "loading", text: "loading…" };
  if (!(name in api.engines)) return null;
  return api.engines[name] ? { name, health: "up", text: "healthy" } : { name, health: "down", text: "DOWN" };
}

function renderEngines() {
  const box = $("engines");
  const api = ui.api;
  const items = [el("span", { text: "ENGINES" })];
  if (api.ok === null) items.push(el("span", { class: "eng", "data-health": "loading", text: "polling…" }));
  else if (api.ok === false) items.push(el("span", { class: "eng", "data-health": "down", text: "unknown: /api/state not answering" }));
  else if (!api.engines_ready) items.push(el("span", { class: "eng", "data-health": "loading", text: "loading…" }));
  else {
    for (const [name, healthy] of Object.entries(api.engines)) {
      const err = api.engine_errors[name];
      items.push(el("span", { class: "eng", "data-health": healthy ? "up" : "down", "data-testid": `engine-${name}`, text: `${healthy ? "●" : "✖"} ${name} ${healthy ? "healthy" : "DOWN"}${err ? ": " + err : ""}` }));
    }
    for (const [name, err] of Object.entries(api.engine_errors)) {
      if (!(name in api.engines)) items.push(el("span", { class: "eng", "data-health": "down", text: `✖ ${name}: ${err}` }));
    }
  }
  if (api.at) items.push(el("span", { text: `polled ${clockText(new Date(api.at))}`, style: "margin-left:auto;color:var(--faint)" }));
  const sig = items.map((n) => n.textContent + n.dataset.health).join("|");
  if (box.dataset.sig !== sig) { box.replaceChildren(...items); box.dataset.sig = sig; }
}

// Uncertain verdicts: the answer, what the grader took and why, RIGHT / WRONG (SENT… until the
// studio's director.command returns), and under autopilot the countdown to its own decision.
let verdictTick = null;
function renderVerdicts(state) {
  const waiting = uncertainOf(state);
  $("verdicts-empty").hidden = waiting.length > 0;
  setText($("verdicts-aside"), waiting.length ? `${waiting.length} waiting` : "");
  let counting = false;
  syncKeyed($("verdicts"), waiting.map((w) => w.key), (key) => {
    const right = el("button", { type: "button", class: "mini right", "data-control": "", "data-testid": `decide-right-${key}`, text: "✓ RIGHT" });
    const wrong = el("button", { type: "button", class: "mini wrong", "data-control": "", "data-testid": `decide-wrong-${key}`, text: "✗ WRONG" });
    right.addEventListener("click", guard(() => actions.decide(key, true)));
    wrong.addEventListener("click", guard(() => actions.decide(key, false)));
    return el("div", { class: "verdict-wait", "data-testid": `verdict-wait-${key}` }, [
      el("div", { class: "vmeta", "data-testid": `verdict-meta-${key}` }),
      el("div", { class: "vtext", "data-testid": `verdict-text-${key}` }),
      el("div", { class: "vwhy", "data-testid": `verdict-why-${key}` }),
      el("div", { class: "vauto", "data-testid": `verdict-auto-${key}` }),
      el("div", { class: "vacts" }, [right, wrong]),
    ]);
  }, (node, key) => {
    const i = waiting.findIndex((w) => w.key === key);
    const v = waiting[i].v;
    setData(node, "oldest", i === 0);
    setData(node, "contestant", v.contestant);
    setText(node.querySelector(".vmeta"), `UNCERTAIN · ${contestantName(state, v.contestant)} · ${v.question_id} · expected “${v.expected}”`);
    setText(node.querySelector(".vtext"), v.text || (v.extracted == null ? "" : v.extracted));
    setText(node.querySelector(".vwhy"), `grader: ${v.reason || "no reason given"}`);
    let auto = "";
    if (typeof v.autodecide_ts === "number") {
      const left = Math.max(0, Math.ceil(v.autodecide_ts - Date.now() / 1000));
      auto = left > 0 ? `AUTOPILOT decides ✗ WRONG in ${left} s unless you decide` : "AUTOPILOT is deciding ✗ WRONG now";
      counting = counting || left > 0;
    }
    setText(node.querySelector(".vauto"), auto);
    const [right, wrong] = node.querySelector(".vacts").children;
    setData(right, "pending", pendingOf("decide", (e) => e.args.question_id === v.question_id && e.args.contestant === v.contestant && e.args.correct === true));
    setData(wrong, "pending", pendingOf("decide", (e) => e.args.question_id === v.question_id && e.args.contestant === v.contestant && e.args.correct === false));
  });
  clearTimeout(verdictTick);
  if (counting) verdictTick = setTimeout(redraw, 1000);
}

let renderedTrainingVersion = -1;
function renderTraining(state) {
  if (renderedTrainingVersion === ui.trainingVersion) return;
  renderedTrainingVersion = ui.trainingVersion;
  const ids = [...ui.training.keys()].sort();
  $("training-empty").hidden = ids.length > 0;
  syncKeyed($("training").tBodies[0], ids, (id) => el("tr", { "data-testid": `training-${id}` },
    ["who", "job", "step", "loss", "eta", "status", "score"].map((c) => el("td", { class: c }))), (node, id) => {
    const r = ui.training.get(id);
    const cells = Object.fromEntries([...node.children].map((td) => [td.className, td]));
    setText(cells.who, contestantName(state, id));
    setText(cells.job, r.job ? `${(r.kind || "").toUpperCase()} ${r.job}` : "—");
    const ranks = r.world_size > 1 ? ` (rank ${r.rank}/${r.world_size})` : "";
    setText(cells.step, r.max_steps ? `${r.step}/${r.max_steps}${ranks}` : r.step != null ? String(r.step) : "—");
    setText(cells.loss, typeof r.loss === "number" ? r.loss.toFixed(3) : "—");
    setText(cells.eta, typeof r.eta_s === "number" ? `${Math.round(r.eta_s)} s` : "—");
    setText(cells.status, r.status ? r.status.replace("_", " ").toUpperCase() : "—");
    setData(cells.status, "status", r.status || "");
    cells.status.title = r.reason || "";
    setText(cells.score, typeof r.score === "number" ? `${(r.score * 100).toFixed(0)} % of ${r.samples}` : "—");
  });
}

const DIMENSION_ORDER = ["speed", "accuracy", "creativity", "logic", "values", "qualification"];

function dimText(d) {
  if (!isObject(d) || typeof d.rating !== "number" || !d.matches) return "—"; // unrated so far
  return `${Math.round(d.rating)} [${Math.round(d.ci_low)}–${Math.round(d.ci_high)}] n${d.matches}`;
}

function renderBoard(state) {
  const board = isObject(state.leaderboard) ? state.leaderboard : null;
  const rows = board && Array.isArray(board.rows) ? board.rows.filter(isObject) : [];
  $("board").hidden = !rows.length;
  $("board-empty").hidden = rows.length > 0;
  const weights = board && isObject(board.weights) ? Object.entries(board.weights).map(([k, v]) => `${k} ${v}`).join(", ") : "";
  setText($("board-aside"), board ? `${board.matches} matches · through #${board.through_seq}${weights ? " · weights " + weights : ""}` : "from leaderboard events");
  const names = Object.fromEntries((state.contestants || []).map((c) => [c.id, c.name]));
  // One column per dimension the board rates (the studio's order first, then any other).
  const dimNames = [];
  for (const r of rows) for (const d of Object.keys(isObject(r.dimensions) ? r.dimensions : {})) if (!dimNames.includes(d)) dimNames.push(d);
  dimNames.sort((a, b) => (DIMENSION_ORDER.indexOf(a) + 1 || 99) - (DIMENSION_ORDER.indexOf(b) + 1 || 99));
  const head = $("board").tHead.rows[0];
  const headSig = dimNames.join(",");
  if (head.dataset.sig !== headSig) {
    head.dataset.sig = headSig;
    head.replaceChildren(...["#", "contestant", "rating", ...dimNames, "Elo Δ"].map((t) => el("th", { text: t })));
    $("board").tBodies[0].replaceChildren(); // rows are rebuilt with the new columns
  }
  const width = dimNames.length + 4;
  syncKeyed($("board").tBodies[0], rows.map((r) => String(r.contestant)), (cid) => el("tr", { "data-testid": `board-row-${cid}` }, Array.from({ length: width }, () => el("td"))), (tr, cid) => {
    const r = rows.find((x) => String(x.contestant) === cid);
    const dims = isObject(r.dimensions) ? r.dimensions : {};
    const delta = typeof r.elo_delta === "number" ? r.elo_delta : 0;
    const cells = [r.rank, names[cid] || cid, typeof r.rating === "number" ? r.rating.toFixed(1) : "—",
      ...dimNames.map((d) => dimText(dims[d])),
      delta ? `${delta > 0 ? "▲" : "▼"}${Math.abs(delta).toFixed(1)}` : "="];
    cells.forEach((v, i) => setText(tr.children[i], v));
    setData(tr, "rank", r.rank);
    tr.children[2].className = "rating";
    tr.children[width - 1].className = delta > 0 ? "up" : delta < 0 ? "down" : "";
  });
  // Judges' scores: how many judges scored each target (director channel only).
  const judged = isObject(state.judged) ? state.judged : {};
  const targets = Object.keys(judged);
  const lines = targets.slice(-8).reverse().map((t) => {
    const n = isObject(judged[t]) ? Object.keys(judged[t]).length : 0;
    return el("div", { "data-testid": `judged-${t}`, text: `${t} — ${n} judge${n === 1 ? "" : "s"}` });
  });
  const title = targets.length ? [el("div", { text: `JUDGES: ${targets.length} target${targets.length === 1 ? "" : "s"} scored${targets.length > 8 ? " (latest 8)" : ""}` })] : [];
  const box = $("judged");
  const sig = targets.length + "|" + targets.slice(-8).map((t) => t + ":" + Object.keys(judged[t] || {}).length).join(",");
  if (box.dataset.sig !== sig) { box.replaceChildren(...title, ...lines); box.dataset.sig = sig; }
}
