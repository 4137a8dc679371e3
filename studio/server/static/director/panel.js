/*
 * director/panel.js: what every part of the director's panel shares: the panel's own state (`ui`),
 * the DOM helpers, the views of the show state, and the render loop.
 *
 * The panel's script is a few plain ES2020 files, no build step and no modules, which
 * director.html loads in this order after /overlays/gavel-state.js and /overlays/gavel-client.js
 * (the show state and the socket client every graphic shares):
 *   panel.js        shared state, DOM helpers, redraw() / renderAll()
 *   connection.js   the token, the director channel, the resync rule, the /api/state poll, the lock
 *   commands.js     sending a command (one command_id per press, retries), two-step confirms, actions
 *   log.js          the director channel's events and the command log folded from them
 *   show.js         rundown, show control, the operator's inputs (subtitle lines, pictures)
 *   graphics.js     preview / program, TAKE and PANIC, the data editor, the connected graphics pages
 *   polls.js        the poll form and the polls
 *   safety.js       held answers, dumps, the broadcast delay, the debate
 *   contestants.js  contestants' cards, engines, uncertain verdicts, training, the leaderboard
 *   keyboard.js     the keys, the mouse's focus rule, the help
 *   main.js         wires every section, starts the 4 Hz tick and connects
 * They share the page's global scope: every file but main.js only declares (constants, functions,
 * and one wire...() per section that attaches its listeners), so nothing runs before every file is
 * in, and a function may call one declared in a later file.
 *
 * Rules it keeps (see README "Director's panel and control API"): everything shown is derived
 * from the director channel's events (the client's state) and the /api/state poll; all text goes in
 * through textContent, so model answers and graphic data are never parsed as HTML.
 */
"use strict";

const $ = (id) => document.getElementById(id);

function el(tag, props, children) {
  const node = document.createElement(tag);
  if (props) {
    for (const [k, v] of Object.entries(props)) {
      if (k === "text") node.textContent = v;
      else if (k === "class") node.className = v;
      else if (k === "dataset") Object.assign(node.dataset, v);
      else node.setAttribute(k, v);
    }
  }
  for (const child of children || []) node.append(child); // strings become text nodes
  return node;
}

function setText(node, text) {
  text = text == null ? "" : String(text);
  if (node.textContent !== text) node.textContent = text;
}

function setData(node, key, value) {
  value = String(value);
  if (node.dataset[key] !== value) node.dataset[key] = value;
}

// Reuse rows by key so buttons under the mouse survive re-renders (a replaced button eats a click).
function syncKeyed(container, keys, create, update) {
  const existing = new Map();
  for (const child of Array.from(container.children)) existing.set(child.dataset.key, child);
  let prev = null;
  for (const key of keys) {
    let row = existing.get(key);
    if (row) existing.delete(key);
    else { row = create(key); row.dataset.key = key; }
    update(row, key);
    const want = prev ? prev.nextSibling : container.firstChild;
    if (row !== want) container.insertBefore(row, want);
    prev = row;
  }
  for (const row of existing.values()) row.remove();
}

function json(value) {
  try { return JSON.stringify(value); } catch (e) { return String(value); }
}

function clockText(date) {
  return date.toTimeString().slice(0, 8);
}

function secs(v) {
  return typeof v === "number" && isFinite(v) ? (v < 1 ? (v * 1000).toFixed(0) + " ms" : v.toFixed(2) + " s") : "—";
}

// ---------------------------------------------------------------------------------------
// Panel state. Show state lives in the shared client (client.state); this is only what the
// panel itself knows: connection, the commands it sent, the log, the focus, the poll.
// ---------------------------------------------------------------------------------------

const ui = {
  token: "",
  client: null,
  synced: false,
  syncTarget: null,
  syncAttempt: 0,
  everSynced: false,
  conn: { status: "connecting", connected: false, retryInMs: 0, reconnects: 0 },
  api: { ok: null, failures: 0, engines: {}, engines_ready: false, engine_errors: {}, last_seq: null, at: 0 },
  focus: null,
  focusPinned: false, // true once the director moves the focus; else it follows the current stage
  armed: null, // {key, command, args, label, until}
  sent: new Map(), // command_id -> log entry (ours)
  log: [], // newest last
  logVersion: 0,
  pressed: new Map(), // KeyboardEvent.code -> last time seen down
  overlayVersion: "",
  editing: null, // graphic name in the data editor
  flash: "", flashUntil: 0,
  pollTimer: null,
  // poll id -> the director-channel event that last set its counts: {seq, ts, type}. The panel
  // shows counts as of that event, never anything newer than the log has confirmed.
  pollSeen: new Map(),
  // Safety: the log of safety.hit / safety.resolved / input.refused / answer.dumped events
  // (newest last), and per held answer ("question:contestant") the seq that put it on hold and
  // the hold hits since (state.held keeps only the latest hit of any kind).
  safetyLog: [],
  safetyVersion: 0,
  // Contestants' training jobs and qualification, from training.* / qualification.result events
  // (posted by `gavel contestants`): contestant -> {job, kind, step, max_steps, loss, eta_s,
  // status, reason, score, samples}.
  training: new Map(),
  trainingVersion: 0,
  holdSeq: new Map(),
  holdHits: new Map(),
  // The debate on now, folded from debate.* events: {stage, debate_id, motion, sides, assigned,
  // rounds, turn: {…debate.turn, ended: null | {status, reason}}, result: debate.result data}.
  debate: null,
  // The broadcast delay: the script's value when /api/state reports it (api.delay_s), else
  // measured from a program feed: the same question's deadline on program minus on director.
  program: null,
  deadlines: { director: new Map(), program: new Map() },
  measuredDelay: null,
};

function isObject(v) { return v !== null && typeof v === "object" && !Array.isArray(v); }

// The shared client's state (folded by gavel-state.js) holds graphics and the registry of graphics
// pages (state.graphics, state.clients), by the same rules as core/state.py.
function graphicsOf(state) {
  const g = state.graphics;
  return { program: (g && g.program) || {}, preview: (g && g.preview) || {} };
}

function clientsOf(state) {
  return state.clients || {};
}

function showStatus(state) {
  return (state.show && state.show.status) || "idle";
}

function contestantName(state, id) {
  const c = (state.contestants || []).find((x) => x.id === id);
  return c ? c.name || c.id : id == null ? "" : String(id);
}

// ---------------------------------------------------------------------------------------
// Rendering: one pass over the client's state, at most once per frame
// ---------------------------------------------------------------------------------------

let frame = null, frameFallback = null;
function redraw() {
  if (frame !== null) return;
  const run = () => { cancelAnimationFrame(frame); clearTimeout(frameFallback); frame = frameFallback = null; renderAll(); };
  frame = requestAnimationFrame(run);
  frameFallback = setTimeout(run, 200); // rAF sleeps in hidden tabs
}

function renderAll() {
  checkSynced();
  const state = ui.client ? ui.client.state : GavelClient.emptyState();
  renderConnection();
  renderTop(state);
  renderRundown(state);
  renderControls(state);
  renderContestants(state);
  renderVerdicts(state);
  renderDebate(state);
  renderSafety(state);
  renderTraining(state);
  renderEngines();
  renderGraphics(state);
  renderClients(state);
  renderPolls(state);
  renderBoard(state);
  renderLog();
  renderStatusbar();
  applyLock();
}
