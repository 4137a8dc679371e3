/*
 * director/commands.js: how the panel sends a command, and what each control does.
 *
 * - POST /api/command with a fresh command_id per physical key press or click, the same id on
 *   every retry (the studio acts once); the log shows "sent…" until the matching director.command
 *   event comes back (log.js), then settled() tells the part of the panel that asked.
 * - Two-step commands (skip, abort, dump all, refresh all, close a poll): a first press arms,
 *   the same key again within 2 s fires.
 * - Controls act only while the panel may operate (connection.js); else they say LOCKED.
 *
 * One of the director panel's scripts (studio/server/static/director/, see panel.js): plain
 * ES2020, sharing the page's global scope; it only declares, and main.js starts the panel.
 */
"use strict";

const CONFIRM_MS = 2000;

function randomHex(bytes) {
  const buf = new Uint8Array(bytes);
  crypto.getRandomValues(buf); // works on plain http too (crypto.randomUUID needs a secure context)
  return Array.from(buf, (b) => b.toString(16).padStart(2, "0")).join("");
}

const SESSION = randomHex(3);
let pressCounter = 0;
function newCommandId(command) {
  pressCounter += 1;
  return `panel-${SESSION}-${pressCounter}-${command}-${randomHex(4)}`;
}

// A click handler that acts only while the panel may operate (else it says LOCKED, sends nothing).
function guard(fn) {
  return (e) => { e.preventDefault(); if (!canOperate()) { flash("LOCKED — nothing was sent"); return; } fn(); };
}

function onClick(id, fn) {
  $(id).addEventListener("click", (e) => { e.preventDefault(); if (!canOperate()) { flash("LOCKED — nothing was sent"); return; } fn(e); });
}

// ---------------------------------------------------------------------------------------
// Commands
// ---------------------------------------------------------------------------------------

function flash(text) {
  ui.flash = text;
  ui.flashUntil = Date.now() + 2500;
  redraw();
}

async function send(command, args, tag) {
  if (!canOperate()) { flash("LOCKED — not in sync with the studio: nothing was sent"); return null; }
  args = args || {};
  const id = newCommandId(command);
  const entry = { command_id: id, command, args, mine: true, phase: "sent", reason: "", sentAt: Date.now(), ts: Date.now() / 1000, tag: tag || "" };
  ui.sent.set(id, entry);
  ui.log.push(entry);
  ui.logVersion++;
  redraw();
  // The same command_id on every retry: if the first request did arrive, the studio answers
  // the retry with the first result and acts once.
  for (let attempt = 0; attempt < 4; attempt++) {
    try {
      const res = await fetch("/api/command", {
        method: "POST",
        headers: { "Content-Type": "application/json", Authorization: "Bearer " + ui.token },
        body: JSON.stringify({ command, command_id: id, args }),
      });
      const body = await res.json().catch(() => ({}));
      entry.http = res.status;
      if (res.status === 200 || res.status === 409) break; // its director.command event settles it
      if (entry.phase === "sent") { entry.phase = "failed"; entry.reason = `not run — ${res.status}: ${body.error || res.statusText}`; settled(entry); }
      ui.logVersion++;
      if (res.status === 401 || res.status === 403) showAuth(`The studio refused this token (${res.status}).`);
      break;
    } catch (e) {
      if (attempt === 3) {
        if (entry.phase === "sent") { entry.phase = "failed"; entry.reason = "no answer from the studio: it may or may not have run — watch for its event"; settled(entry); }
        ui.logVersion++;
      } else {
        await new Promise((r) => setTimeout(r, 250 * 2 ** attempt));
      }
    }
  }
  redraw();
  return id;
}

function pendingOf(command, pred) {
  for (const entry of ui.sent.values()) {
    if (entry.phase === "sent" && entry.command === command && (!pred || pred(entry))) return true;
  }
  return false;
}

// Two-step commands: the first press arms, a second press of the same key within 2 s fires.
function armOrFire(key, command, args, label) {
  const now = Date.now();
  if (ui.armed && ui.armed.key === key && now < ui.armed.until) {
    ui.armed = null;
    send(command, args);
  } else {
    ui.armed = { key, command, args, label, until: now + CONFIRM_MS };
    setTimeout(redraw, CONFIRM_MS + 30);
  }
  redraw();
}

function goCommand() {
  const state = ui.client.state;
  return showStatus(state) === "idle" ? "start" : "next";
}

const actions = {
  go() { send(goCommand()); },
  pauseToggle() { send(showStatus(ui.client.state) === "paused" ? "resume" : "pause"); },
  skip(key) {
    const st = ui.client.state.current_stage;
    armOrFire(key, "skip", {}, `PRESS ${key === "btn" ? "SKIP" : "S"} AGAIN WITHIN 2 s TO SKIP STAGE ${st == null ? "" : st + 1}`);
  },
  abort(key) { armOrFire(key, "abort", {}, `PRESS ${key === "btn" ? "ABORT" : "X"} AGAIN WITHIN 2 s TO ABORT THE SHOW`); },
  take() { send("take"); },
  panic() { send("panic"); },
  cue(name, visible, data) {
    const g = graphicsOf(ui.client.state);
    const current = g.preview[name] || g.program[name] || { data: {} };
    send("cue", { graphic: name, visible, data: data !== undefined ? data : (isObject(current.data) ? current.data : {}) });
  },
  toggle(name) {
    const pv = graphicsOf(ui.client.state).preview[name];
    actions.cue(name, !(pv && pv.visible));
  },
  refresh(target) { send("refresh", { target }); },
  pollOpen() { submitPollForm(); },
  pollClose(poll, winner) { send("poll_close", winner ? { poll, winner } : { poll }); },
  pollReveal(poll) { send("poll_reveal", { poll }); },
  resolveHold(command, key) {
    const hit = (ui.client.state.held || {})[key];
    if (!isObject(hit)) { flash("that answer is no longer held"); return; }
    send(command, { question_id: hit.question_id, contestant: hit.contestant });
  },
  // A / R: the oldest hold not already answered by a command in flight.
  resolveOldest(command) {
    const holds = holdsOf(ui.client.state);
    const h = holds.find((x) => !resolvePending(x));
    if (!holds.length) flash("nothing is held");
    else if (!h) flash("every hold already has a decision on its way");
    else send(command, { question_id: h.hit.question_id, contestant: h.hit.contestant });
  },
  dump(contestant) { send("dump", { contestant }); },
  decide(key, correct) {
    const v = (ui.client.state.uncertain || {})[key];
    if (!isObject(v)) { flash("that verdict is no longer waiting"); return; }
    send("decide", { question_id: v.question_id, contestant: v.contestant, correct });
  },
  // Y / N: the oldest uncertain verdict without a decision already on its way.
  decideOldest(correct) {
    const waiting = uncertainOf(ui.client.state);
    const w = waiting.find((x) => !decidePending(x.v));
    if (!waiting.length) flash("no uncertain verdict to decide");
    else if (!w) flash("every uncertain verdict already has a decision on its way");
    else send("decide", { question_id: w.v.question_id, contestant: w.v.contestant, correct });
  },
  explain(contestant) { send("explain", { contestant }); },
  dumpAll(key) {
    armOrFire(key, "dump", {}, `${key === "D" ? "PRESS D" : "CLICK DUMP ALL"} AGAIN WITHIN 2 s TO DUMP EVERY ANSWER FROM THE DELAY`);
  },
  cut() {
    if (!debateRunning(ui.client.state)) { flash("no debate turn to cut"); return; }
    send("cut");
  },
};

// What the panel does once the studio has answered one of its own commands.
function settled(entry) {
  if (entry.command === "subtitle_line") {
    const what = entry.args.end ? "END" : `"${entry.args.text}"`;
    setText($("sub-note"), entry.phase === "accepted" ? `${what}: on air` : `${what}: ${entry.phase === "refused" ? "REFUSED" : "NOT CONFIRMED"} — ${entry.reason}`);
  } else if (entry.tag === "poll-form") {
    if (entry.phase === "accepted") resetPollForm();
    else setText($("poll-err"), `${entry.phase === "refused" ? "REFUSED" : "NOT CONFIRMED"} — ${entry.reason}`);
  } else if (entry.phase !== "accepted" && ["approve", "reject", "dump", "cut", "explain"].includes(entry.command)) {
    flash(`${entry.command}: ${entry.phase === "refused" ? "REFUSED" : "NOT CONFIRMED"} — ${entry.reason}`);
  } else if (entry.phase !== "accepted" && entry.command && entry.command.startsWith("poll_")) {
    flash(`${entry.command} ${entry.args.poll || ""}: ${entry.phase === "refused" ? "REFUSED" : "NOT CONFIRMED"} — ${entry.reason}`);
  }
}

function renderStatusbar() {
  const armed = ui.armed && Date.now() < ui.armed.until ? ui.armed : null;
  $("armed").hidden = !armed;
  setText($("armed"), armed ? armed.label : "");
  if (ui.flash && Date.now() > ui.flashUntil) ui.flash = "";
  setText($("flash"), ui.flash);
  const pending = [...ui.sent.values()].filter((e) => e.phase === "sent");
  setText($("pending"), pending.length ? "sent… awaiting the studio: " + pending.map((e) => e.command + argsText(e)).join(", ") : "");
}
