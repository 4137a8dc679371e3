/*
 * director/main.js: the panel starts here. Loaded last, once every other script of the panel
 * (studio/server/static/director/, see panel.js) has declared its part: it attaches each
 * section's listeners, starts the 4 Hz tick, sets the test hook, then connects with the token it
 * was given or kept (or shows the token form).
 */
"use strict";

wireAuth();
wireKeyboard();
wireShow();
wireGraphics();
wireSafety();
wirePolls();

// Clock, countdown, banner retry time, armed/flash expiry: a light 4 Hz tick.
setInterval(() => {
  setText($("clock"), clockText(new Date()));
  const c = ui.client, q = c && c.state.question;
  let cd = "--";
  if (q && typeof q.deadline_ts === "number") {
    const left = Math.max(0, q.deadline_ts * 1000 - c.serverNow()) / 1000;
    const finished = Object.values(c.state.answers || {}).every((a) => a.status !== "streaming");
    cd = finished ? "—" : left.toFixed(1);
    setData($("countdown"), "urgent", !finished && left < 5);
  }
  setText($("countdown"), cd);
  const timedPoll = c && Object.values(c.state.polls || {}).some((p) => p && p.status === "open" && typeof p.closes_ts === "number");
  if (ui.armed || ui.flash || (c && !c.connected) || timedPoll) redraw();
}, 250);

// Test and debugging hook (read-only views).
window.__director = {
  knownGraphics: KNOWN_GRAPHICS,
  shortcuts: SHORTCUTS,
  canOperate,
  sentIds: () => [...ui.sent.keys()],
  log: () => ui.log.map((e) => ({ ...e })),
  synced: () => ui.synced,
  pollSeen: () => Object.fromEntries(ui.pollSeen),
  safetyLog: () => ui.safetyLog.map((e) => ({ ...e })),
  debate: () => (ui.debate ? JSON.parse(JSON.stringify(ui.debate)) : null),
  delay: () => ({ ...delayInfo(), script: ui.api.delay_s, measured: ui.measuredDelay }),
};

{
  const token = readToken();
  if (token) boot(token);
  else showAuth("");
}
