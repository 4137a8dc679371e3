/*
 * director/safety.js: the safety desk (held answers APPROVE / REJECT, DUMP one or all from the
 * broadcast delay, the log of filter hits, decisions, refused inputs and dumps), the broadcast
 * delay (the script's, else measured on program), and the debate (motion, sides, the turn on
 * air, CUT TURN, the result).
 *
 * One of the director panel's scripts (studio/server/static/director/, see panel.js): plain
 * ES2020, sharing the page's global scope; it only declares, and main.js starts the panel.
 */
"use strict";

const SAFETY_ROWS = 150; // filter hits, refused inputs, decisions and dumps shown (newest first)
const SIDE = { pro: "FOR", con: "AGAINST" };

// ---------------------------------------------------------------------------------------
// Safety and debate: folded from their director-channel events
// ---------------------------------------------------------------------------------------

function holdKey(d) {
  return d.question_id + ":" + d.contestant;
}

function noteSafety(ev, d) {
  let entry = null;
  if (ev.type === "snapshot") {
    ui.holdSeq.clear(); ui.holdHits.clear();
    entry = { kind: "note", text: `snapshot at #${ev.seq}: earlier filter hits are no longer in the studio's log` };
  } else if (ev.type === "safety.hit") {
    entry = { kind: "hit", action: d.action, contestant: d.contestant, question_id: d.question_id, rule: d.rule, match: d.kind, text: d.text, state: d.state };
    if (d.state === "held" || d.action === "hold") {
      const key = holdKey(d);
      if (!ui.holdSeq.has(key)) ui.holdSeq.set(key, ev.seq);
      if (d.action === "hold") ui.holdHits.set(key, (ui.holdHits.get(key) || []).concat([d]));
    }
  } else if (ev.type === "safety.resolved") {
    entry = { kind: "resolved", decision: d.decision, contestant: d.contestant, question_id: d.question_id };
    ui.holdSeq.delete(holdKey(d));
    ui.holdHits.delete(holdKey(d));
  } else if (ev.type === "input.refused") {
    entry = { kind: "refused", source: d.source, rules: Array.isArray(d.rules) ? d.rules : [], reason: d.reason, stage: d.stage };
  } else if (ev.type === "answer.dumped") {
    entry = { kind: "dumped", contestant: d.contestant, question_id: d.question_id, reason: d.reason };
  }
  if (!entry) return;
  entry.seq = ev.seq;
  entry.ts = ev.ts;
  ui.safetyLog.push(entry);
  if (ui.safetyLog.length > SAFETY_ROWS * 2) ui.safetyLog.splice(0, ui.safetyLog.length - SAFETY_ROWS);
  ui.safetyVersion++;
}

function noteDebate(ev, d) {
  const deb = ui.debate;
  switch (ev.type) {
    case "snapshot":
    case "show.opened":
      ui.debate = null; // a snapshot does not carry the debate's sides: show nothing rather than guess
      break;
    case "stage.started":
      if (deb && deb.stage !== d.index) ui.debate = null;
      break;
    case "debate.started":
      ui.debate = { stage: d.stage, debate_id: d.debate_id, motion: d.motion, sides: isObject(d.sides) ? d.sides : {}, assigned: d.assigned, rounds: d.rounds, turn: null, result: null };
      break;
    case "debate.turn":
      if (deb && deb.debate_id === d.debate_id) deb.turn = Object.assign({}, d, { ended: null });
      break;
    case "answer.finished":
      if (deb && deb.turn && !deb.turn.ended && deb.turn.question_id === d.question_id && deb.turn.contestant === d.contestant) {
        deb.turn.ended = { status: d.status, reason: d.reason || "" };
      }
      break;
    case "debate.result":
      if (deb && deb.debate_id === d.debate_id) deb.result = d;
      break;
    default:
      break;
  }
}

// The script's broadcast delay, if /api/state reports it (null: it does not).
function scriptDelay(s) {
  if (isObject(s.safety) && typeof s.safety.delay_s === "number") return s.safety.delay_s;
  if (typeof s.delay_s === "number") return s.delay_s;
  return null;
}

// Without the script's value, follow program too and measure: air shifts a question's
// deadline by exactly the delay (studio/show/delay_line.py), so program's deadline minus the
// director's for the same question is the delay on air.
function followProgram(wanted) {
  if (wanted && !ui.program && ui.token) {
    ui.program = new GavelClient({
      channel: "program", token: ui.token, exposeGlobal: false, keepEvents: 1,
      onEvent: (ev) => { if (ev.type === "question.asked" && isObject(ev.data) && typeof ev.data.question_id === "string") noteDeadline("program", ev.data); },
    });
  } else if (!wanted && ui.program) {
    ui.program.close();
    ui.program = null;
  }
}

function noteDeadline(feed, d) {
  if (typeof d.deadline_ts !== "number") return;
  const map = ui.deadlines[feed];
  map.set(d.question_id, d.deadline_ts);
  if (map.size > 200) map.delete(map.keys().next().value);
  const other = ui.deadlines[feed === "program" ? "director" : "program"].get(d.question_id);
  if (typeof other !== "number") return;
  const diff = feed === "program" ? d.deadline_ts - other : other - d.deadline_ts;
  ui.measuredDelay = Math.max(0, Math.round(diff * 10) / 10);
  redraw();
}

function fmtDelay(n) {
  return Number.isInteger(n) ? String(n) : n.toFixed(1);
}

function delayInfo() {
  const script = ui.api.delay_s, measured = ui.measuredDelay;
  const seen = typeof measured === "number" ? ` Measured on program: +${fmtDelay(measured)} s.` : "";
  if (typeof script === "number") {
    return script > 0
      ? { state: "delayed", source: "script", text: `PROGRAM +${fmtDelay(script)} s`, title: `The script's safety.delay_s: program (air) runs ${fmtDelay(script)} s behind this panel and preview; DUMP stops what is still in the delay.${seen}` }
      : { state: "none", source: "script", text: "NO DELAY", title: "The script has no broadcast delay: what streams airs at once; DUMP only blanks what is still to come." };
  }
  if (typeof measured === "number") {
    return measured > 0
      ? { state: "delayed", source: "measured", text: `PROGRAM +${fmtDelay(measured)} s`, title: `Measured on program (the studio does not report the script's delay): a question's countdown on air ends ${fmtDelay(measured)} s later.` }
      : { state: "none", source: "measured", text: "NO DELAY", title: "Measured on program (the studio does not report the script's delay): the last question aired with the same deadline." };
  }
  return { state: "unknown", source: "none", text: "DELAY ?", title: "The studio does not report the script's delay; the panel measures it on program once a question airs." };
}

// Holds awaiting the director, oldest first (the one A / R act on leads).
function holdsOf(state) {
  const held = isObject(state.held) ? state.held : {};
  return Object.keys(held).filter((k) => isObject(held[k])).map((key, i) => ({
    key, hit: held[key], order: ui.holdSeq.has(key) ? ui.holdSeq.get(key) : -1e9 + i,
  })).sort((a, b) => a.order - b.order);
}

function resolvePending(h) {
  return pendingOf("approve", (e) => e.args.question_id === h.hit.question_id && e.args.contestant === h.hit.contestant)
    || pendingOf("reject", (e) => e.args.question_id === h.hit.question_id && e.args.contestant === h.hit.contestant);
}

function debateRunning(state) {
  const cur = state.current_stage;
  const stage = cur == null ? null : (state.stages || []).find((s) => s.index === cur);
  return !!(stage && stage.kind === "debate" && stage.status === "running");
}

function renderDebate(state) {
  const running = debateRunning(state);
  const d = ui.debate;
  $("p-debate").hidden = !d && !running;
  const cut = $("btn-cut");
  setData(cut, "na", !running);
  setData(cut, "pending", pendingOf("cut"));
  const name = (id) => contestantName(state, id);
  const turn = $("debate-turn"), result = $("debate-result");
  if (!d) {
    setText($("debate-motion"), "A debate stage is running; its sides and turns were not in the events this panel has (snapshot).");
    setText($("debate-aside"), "");
    setText($("debate-sides"), "");
    setText(turn, "");
    setText(result, "");
    return;
  }
  setText($("debate-motion"), `“${d.motion}”`);
  setText($("debate-aside"), `${d.debate_id} · stage ${d.stage + 1} · ${d.rounds} round${d.rounds === 1 ? "" : "s"}`);
  setText($("debate-sides"), `FOR ${name(d.sides.pro)} · AGAINST ${name(d.sides.con)} · sides drawn: ${d.assigned}`);
  const t = d.turn;
  if (t) {
    const head = `ROUND ${t.round}/${d.rounds} · ${SIDE[t.side] || t.side} · ${name(t.contestant)} · ${t.kind}`;
    setText(turn, t.ended ? `${head} — ended${t.ended.reason ? ": " + t.ended.reason : " (" + t.ended.status + ")"}` : `${head} — speaking`);
    setData(turn, "phase", t.ended ? "ended" : "speaking");
    setData(turn, "side", t.side);
    setData(turn, "contestant", t.contestant);
  } else {
    setText(turn, "no turn yet");
    setData(turn, "phase", "none");
  }
  const r = d.result;
  setData(result, "decided", !!r);
  setData(result, "winner", r && r.winner ? r.winner : "");
  if (!r) { setText(result, "result: after the last turn (audience vote and judges)"); return; }
  const pair = [d.sides.pro, d.sides.con].filter((c) => c != null);
  const num = (v, digits) => (typeof v === "number" ? v.toFixed(digits) : "—");
  const per = (obj, digits) => pair.map((c) => `${name(c)} ${num(isObject(obj) ? obj[c] : null, digits)}`).join(" / ");
  const w = isObject(r.weights) ? r.weights : {};
  setText(result, `${r.winner ? "WINNER " + name(r.winner) : "TIE: no winner"} · score ${per(r.score, 2)} · judges ${per(r.judges, 1)} · audience ${per(r.audience, 0)} · weights judges ${num(w.judges, 2)}, audience ${num(w.audience, 2)} → ${r.dimension}`);
}

let renderedSafetyVersion = -1;
function renderSafety(state) {
  const delay = $("delay"), info = delayInfo();
  setData(delay, "state", info.state);
  setData(delay, "source", info.source);
  setText(delay, info.text);
  if (delay.title !== info.title) delay.title = info.title;

  const holds = holdsOf(state);
  $("holds-empty").hidden = holds.length > 0;
  syncKeyed($("holds"), holds.map((h) => h.key), (key) => {
    const approve = el("button", { type: "button", class: "mini approve", "data-control": "", "data-testid": `approve-${key}`, text: "APPROVE" });
    const reject = el("button", { type: "button", class: "mini reject", "data-control": "", "data-testid": `reject-${key}`, text: "REJECT" });
    approve.addEventListener("click", guard(() => actions.resolveHold("approve", key)));
    reject.addEventListener("click", guard(() => actions.resolveHold("reject", key)));
    return el("div", { class: "hold", "data-testid": `hold-${key}` }, [
      el("div", { class: "hmeta", "data-testid": `hold-meta-${key}` }),
      el("div", { class: "htext", "data-testid": `hold-text-${key}` }),
      el("div", { class: "hacts" }, [approve, reject]),
    ]);
  }, (node, key) => {
    const i = holds.findIndex((h) => h.key === key);
    const h = holds[i];
    const hits = ui.holdHits.get(key) || [h.hit];
    setData(node, "oldest", i === 0);
    setData(node, "contestant", h.hit.contestant);
    setData(node, "question", h.hit.question_id);
    const rules = [...new Set(hits.map((x) => `${x.rule} (${x.kind})`))].join(", ");
    setText(node.querySelector(".hmeta"), `HELD · ${contestantName(state, h.hit.contestant)} · ${h.hit.question_id} · rule ${rules}`);
    setText(node.querySelector(".htext"), hits.map((x) => `“${x.text}”`).join("  "));
    const [approve, reject] = node.querySelector(".hacts").children;
    setData(approve, "pending", pendingOf("approve", (e) => e.args.question_id === h.hit.question_id && e.args.contestant === h.hit.contestant));
    setData(reject, "pending", pendingOf("reject", (e) => e.args.question_id === h.hit.question_id && e.args.contestant === h.hit.contestant));
  });

  const answers = state.answers || {};
  syncKeyed($("dump-one"), (state.contestants || []).map((c) => c.id), (id) => {
    const b = el("button", { type: "button", class: "mini", "data-control": "", "data-testid": `dump-${id}` });
    b.addEventListener("click", guard(() => actions.dump(id)));
    return b;
  }, (b, id) => {
    const a = answers[id];
    setText(b, `DUMP ${contestantName(state, id)}`);
    setData(b, "dumped", !!(a && a.dumped));
    setData(b, "pending", pendingOf("dump", (e) => e.args.contestant === id));
    b.title = a && a.dumped ? "already withdrawn from air" : "withdraw this contestant's answer from air";
  });

  if (renderedSafetyVersion === ui.safetyVersion) return;
  renderedSafetyVersion = ui.safetyVersion;
  const rows = [];
  const who = (e) => `${contestantName(state, e.contestant)} · ${e.question_id}`;
  for (let i = ui.safetyLog.length - 1; i >= 0 && rows.length < SAFETY_ROWS; i--) {
    const e = ui.safetyLog[i];
    const time = clockText(new Date((e.ts || 0) * 1000));
    if (e.kind === "note") { rows.push(el("tr", { class: "note" }, [el("td", { text: time }), el("td", { colspan: "3", text: e.text })])); continue; }
    let what, whom, detail;
    if (e.kind === "hit") {
      what = e.action.toUpperCase();
      whom = who(e);
      detail = `${e.rule} (${e.match}): “${e.text}” → answer ${e.state}`;
    } else if (e.kind === "resolved") {
      what = e.decision === "timed_out" ? "TIMED OUT" : e.decision.toUpperCase();
      whom = who(e);
      detail = e.decision === "approved" ? "the held text went on air" : "the held text never airs: the answer ends withheld (DNF)";
    } else if (e.kind === "refused") {
      what = "REFUSED";
      whom = e.source;
      detail = `${e.rules.join(", ")}: ${e.reason}${e.stage == null ? "" : ` (stage ${e.stage + 1})`}`;
    } else {
      what = "DUMPED";
      whom = who(e);
      detail = e.reason;
    }
    rows.push(el("tr", { "data-testid": "safety-row", "data-kind": e.kind, "data-action": e.action || e.decision || "", "data-contestant": e.contestant || "", "data-seq": String(e.seq) }, [
      el("td", { class: "nw", text: time }), el("td", { class: "what nw", text: what }), el("td", { text: whom }), el("td", { text: detail }),
    ]));
  }
  $("safety-empty").hidden = rows.length > 0;
  $("safety-log").tBodies[0].replaceChildren(...rows);
}

// DUMP ALL and CUT TURN.
function wireSafety() {
  onClick("dump-all", () => actions.dumpAll("btn-dump-all"));
  onClick("btn-cut", () => actions.cut());
}
