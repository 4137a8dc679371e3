/*
 * director/log.js: every event of the director channel passes here (the client's onEvent, before
 * its reducer): the command log is folded from director.command events, studio notes (store
 * outage, engine fault, an event program never got, snapshot) join it, and each section notes what its events say.
 *
 * One of the director panel's scripts (studio/server/static/director/, see panel.js): plain
 * ES2020, sharing the page's global scope; it only declares, and main.js starts the panel.
 */
"use strict";

const LOG_ROWS = 300;

// ---------------------------------------------------------------------------------------
// Events: the command log is folded from director.command events
// ---------------------------------------------------------------------------------------

function onEvent(ev) {
  const pd = isObject(ev.data) ? ev.data : {};
  noteSafety(ev, pd);
  noteDebate(ev, pd);
  noteTraining(ev, pd);
  if (ev.type === "question.asked" && typeof pd.question_id === "string") noteDeadline("director", pd);
  if (ev.type === "store.outage") {
    note(`STORE OUTAGE: Redis unreachable for ${Number(pd.duration_s).toFixed(1)} s` + (pd.restarted ? " (embedded server restarted)" : "") + ` — ${pd.error}`);
  } else if (ev.type === "program.dropped") {
    const answer = pd.contestant ? ` of ${pd.contestant} on ${pd.question_id}` : "";
    note(`NOT AIRED: the delay line gave up on ${pd.event_type}${answer} after ${pd.tries} tries — ${pd.error}`);
  } else if (ev.type === "engine.fault") {
    note(`ENGINE FAULT: ${pd.engine} failed ${pd.contestant} on ${pd.question_id} (${String(pd.status).toUpperCase()}): ${pd.reason}`);
  }
  if (ev.type === "snapshot") {
    note(`snapshot at #${ev.seq}: older commands are no longer in the studio's log`);
    ui.pollSeen.clear();
    if (isObject(pd.polls)) for (const id of Object.keys(pd.polls)) ui.pollSeen.set(id, { seq: ev.seq, ts: ev.ts, type: "snapshot" });
  } else if (ev.type === "poll.opened" || ev.type === "poll.tally" || ev.type === "poll.closed") {
    if (typeof pd.poll_id === "string") ui.pollSeen.set(pd.poll_id, { seq: ev.seq, ts: ev.ts, type: ev.type.slice(5) });
  } else if (ev.type === "director.command") {
    const d = isObject(ev.data) ? ev.data : {};
    let entry = d.command_id && d.command_id !== "-" ? ui.sent.get(d.command_id) : null;
    if (entry && entry.seq) entry = null; // a second event for the same id: log it as its own line
    if (!entry) {
      entry = { command_id: d.command_id, command: d.command, args: d.args || {}, mine: false };
      ui.log.push(entry);
    }
    Object.assign(entry, {
      by: d.by, seq: ev.seq, ts: ev.ts, phase: d.accepted ? "accepted" : "refused", reason: d.reason || "",
    });
    ui.logVersion++;
    if (entry.mine) settled(entry);
  }
  if (ui.syncTarget != null && !ui.synced) setTimeout(checkSynced, 0);
}

function note(text) {
  ui.log.push({ note: text, ts: Date.now() / 1000 });
  ui.logVersion++;
}

function argsText(e) {
  const a = e.args || {};
  if (e.command === "cue") return ` ${a.graphic} ${a.visible === false ? "off" : "on"}${a.data && Object.keys(a.data).length ? " " + json(a.data) : ""}`;
  if (e.command === "refresh") return ` ${a.target}`;
  if (e.command === "poll_open") return ` ${a.poll || "(new)"} ${json(a.title)}${a.kind === "rating" ? " rating" : a.choices ? " [" + a.choices.map((c) => (isObject(c) ? c.label : c)).join(" | ") + "]" : ""}${a.dimension ? " verdict " + a.dimension : ""}${a.duration_s ? " " + a.duration_s + " s" : ""}`;
  if (e.command === "poll_close") return ` ${a.poll}${a.winner ? " winner " + a.winner + " (director)" : ""}`;
  if (e.command === "poll_reveal") return ` ${a.poll}`;
  const keys = Object.keys(a);
  return keys.length ? " " + json(a) : "";
}

let renderedLogVersion = -1;
function renderLog() {
  if (renderedLogVersion === ui.logVersion) return;
  renderedLogVersion = ui.logVersion;
  if (ui.log.length > LOG_ROWS * 2) {
    const dropped = ui.log.splice(0, ui.log.length - LOG_ROWS);
    for (const d of dropped) if (d.command_id) ui.sent.delete(d.command_id);
  }
  const rows = [];
  for (let i = ui.log.length - 1; i >= 0 && rows.length < LOG_ROWS; i--) {
    const e = ui.log[i];
    const time = clockText(new Date((e.ts || 0) * 1000));
    if (e.note) { rows.push(el("tr", { class: "note" }, [el("td", { text: time }), el("td"), el("td", { colspan: "3", text: e.note })])); continue; }
    const result = e.phase === "sent" ? "SENT…" : e.phase === "accepted" ? "OK" + (e.reason ? " — " + e.reason : "")
      : e.phase === "refused" ? "REFUSED — " + e.reason : "NOT CONFIRMED — " + e.reason;
    rows.push(el("tr", { "data-testid": "log-row", "data-phase": e.phase, "data-command": e.command || "", "data-command-id": e.command_id || "" }, [
      el("td", { class: "nw", text: time }),
      el("td", { class: "nw", text: e.seq ? "#" + e.seq : "" }),
      el("td", { text: (e.command || "?") + argsText(e) }),
      el("td", { class: "nw", text: (e.by || "director") + (e.mine ? " · this panel" : "") }),
      el("td", { class: "res", text: result }),
    ]));
  }
  $("log").tBodies[0].replaceChildren(...rows);
}
