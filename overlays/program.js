/*
 * program.js: the on-air "token duel + scoreboard" graphic (program.html), graphic name "duel".
 *
 * The page contract (visibility from the server's graphics state, update/play/stop/next/remove,
 * the output indicator, text only through textContent) is GavelUI.mount's; the question card
 * and its server-clock countdown are question-card.js's. This file draws the strip, one
 * streaming answer column per contestant and the scoreboard.
 * A dumped answer (answer.dumped: withdrawn by the director) shows "— withdrawn —" in place of
 * its text, never the text. During a debate each debater's column carries its side (FOR /
 * AGAINST), the speaking column is highlighted, and after debate.result the winner is marked.
 * A contestant whose fairness record (answer.fairness) is flagged — they answered under measurably
 * worse conditions than the others (queue wait, load) — carries a "worse conditions" note saying why.
 * Data fields (cue data or update()): title (overrides the strip title; empty restores it),
 * subtitle, view ("answers" | "scoreboard"; events switch it too). next() toggles the view.
 */
(function () {
  "use strict";

  const { el, setText, toggle, shorten, fmtSeconds, rankRows, t } = window.GavelUI;
  const contestantById = window.GavelUI.contestant;
  const currentStage = window.GavelUI.currentStage;

  const root = document.getElementById("stage");
  const q = (testid) => root.querySelector(`[data-testid="${testid}"]`);
  const els = {
    strip: q("stage-strip"),
    stripNum: q("stage-number"),
    stripTitle: q("stage-title"),
    stripSub: q("stage-subtitle"),
    stripKind: q("stage-kind"),
    duel: q("answers"),
    sbSub: q("scoreboard-subtitle"),
    sbRows: q("scoreboard-rows"),
  };
  const card = window.GavelUI.questionCard(q("question"));

  // What the operator (cue data / update()) set, and what events imply for the layout.
  const display = { title: null, subtitle: null };
  let view = "answers";           // "answers" | "scoreboard"
  let viewFromData = null;        // the data's last `view`: applied when it changes

  // Per-contestant token-rate trackers, from event timestamps (server clock, so replays agree).
  let trackers = {};
  let askedTs = null;             // ts of the current question.asked, when seen
  // The debate on this output, from debate.* events: {stage, debate_id, sides {pro, con},
  // turn: {contestant, side, question_id, done}, result}. None after a snapshot (it does not
  // carry the sides): the columns then show no side rather than a guess.
  let debate = null;

  // Caches so a frame only touches the DOM where something changed.
  let columnsKey = null;
  let columns = {};
  let drawnScoreboard = undefined;
  let drawnScoreboardKey = null;

  function fmtRate(r) {
    if (typeof r !== "number" || !isFinite(r) || r <= 0) return "—";
    return r < 100 ? r.toFixed(1) : String(Math.round(r));
  }

  // ---- events -> view bookkeeping ----------------------------------------------------------------

  function noteEvents(state, batch) {
    for (const ev of batch) {
      const d = ev.data || {};
      switch (ev.type) {
        case "snapshot":
          trackers = {};
          askedTs = null;
          debate = null;
          break;
        case "show.opened":
        case "stage.started":
          trackers = {};
          askedTs = null;
          view = "answers";
          if (ev.type === "show.opened" || (debate && debate.stage !== d.index)) debate = null;
          break;
        case "debate.started":
          debate = { stage: d.stage, debate_id: d.debate_id, sides: d.sides && typeof d.sides === "object" ? d.sides : {}, turn: null, result: null };
          break;
        case "debate.turn":
          if (debate && debate.debate_id === d.debate_id) {
            debate.turn = { contestant: d.contestant, side: d.side, question_id: d.question_id, done: false };
          }
          break;
        case "answer.finished":
          if (debate && debate.turn && debate.turn.question_id === d.question_id && debate.turn.contestant === d.contestant) {
            debate.turn.done = true;
          }
          break;
        case "debate.result":
          if (debate && debate.debate_id === d.debate_id) {
            debate.result = { winner: d.winner == null ? null : d.winner };
            debate.turn = null;
          }
          break;
        case "question.asked":
          trackers = {};
          askedTs = ev.ts;
          view = "answers";
          break;
        case "answer.started":
          (trackers[d.contestant] = trackers[d.contestant] || {}).startTs = ev.ts;
          break;
        case "answer.token": {
          const t = (trackers[d.contestant] = trackers[d.contestant] || {});
          if (t.firstTs == null) { t.firstTs = ev.ts; t.firstIdx = d.index; }
          t.lastTs = ev.ts;
          t.lastIdx = d.index;
          break;
        }
        case "scoreboard":
          view = "scoreboard";
          break;
        default:
          break;
      }
    }
  }

  // ---- drawing ----------------------------------------------------------------------------------

  function applyData(data) {
    display.title = data.title == null || data.title === "" ? null : String(data.title);
    display.subtitle = data.subtitle == null ? null : String(data.subtitle);
    const v = data.view === "answers" || data.view === "scoreboard" ? data.view : null;
    if (v !== viewFromData) { viewFromData = v; if (v) view = v; }
  }

  function draw({ state, data, batch, client }) {
    noteEvents(state, batch);
    applyData(data);
    const effective = view === "scoreboard" && state.scoreboard ? "scoreboard" : "answers";
    if (root.dataset.view !== effective) root.dataset.view = effective;
    drawStrip(state);
    card.draw(state, batch, client);
    drawColumns(state);
    drawScoreboard(state);
  }

  function drawStrip(state) {
    const show = state.show;
    const stage = currentStage(state);
    let num = "";
    if (stage) {
      const pos = state.stages.indexOf(stage);
      num = t(state, "show.stage_number", { number: pos + 1, of: state.stages.length });
    }
    const title = display.title || (stage && stage.title) || (show && show.title) || "";
    const sub = display.subtitle != null ? display.subtitle : (stage && show ? show.title : "");
    setText(els.stripNum, num);
    setText(els.stripTitle, title);
    setText(els.stripSub, sub === title ? "" : sub);
    setText(els.stripKind, stage ? t(state, `stage.kind.${stage.kind}`) : "");
    toggle(els.strip, "is-empty", !title && !num);
  }

  function buildColumn(state, c) {
    const col = el("article", "col panel");
    col.dataset.testid = `answer-${c.id}`;
    col.dataset.contestant = c.id;

    const head = el("header", "col-head");
    const id = el("div", "col-id");
    const name = el("div", "col-name", c.name || c.id);
    name.dataset.testid = `name-${c.id}`;
    const meta = el("div", "col-meta");
    const team = el("span", "col-team", c.team || "");
    const model = el("span", "col-model", c.model || "");
    meta.append(team, model);
    id.append(name, meta);
    const side = el("div", "col-side");
    side.dataset.testid = `side-${c.id}`;
    id.prepend(side);
    const badge = el("div", "badge");
    badge.dataset.testid = `badge-${c.id}`;
    const verdict = el("div", "col-verdict");
    verdict.dataset.testid = `verdict-${c.id}`;
    head.append(id, verdict, badge);

    const body = el("div", "col-body");
    const p = el("p", "col-text");
    const withdrawn = el("span", "withdrawn");
    withdrawn.dataset.testid = `withdrawn-${c.id}`;
    const text = el("span", "txt");
    text.dataset.testid = `answer-text-${c.id}`;
    // Before its first words air (the model is thinking, or what it says is still being checked
    // for an echoed prompt) the box says so instead of standing empty.
    const waiting = el("span", "waiting");
    waiting.dataset.testid = `answer-waiting-${c.id}`;
    p.append(withdrawn, waiting, text, el("span", "caret"));
    body.append(p);

    const stats = el("footer", "col-stats");
    const stat = (label, unit, testid) => {
      const box = el("div", "stat");
      const value = el("div", "stat-value");
      const num = el("span", "num", "—");
      num.dataset.testid = `${testid}-${c.id}`;
      value.append(num);
      if (unit) value.append(el("span", "unit", unit));
      box.append(el("div", "stat-label", label), value);
      stats.append(box);
      return num;
    };
    const tokens = stat(t(state, "duel.tokens"), "", "tokens");
    const rate = stat(t(state, "duel.tokens_per_s"), "", "tps");
    const ttft = stat(t(state, "duel.ttft"), "s", "ttft");

    const fair = el("div", "fair-note");
    fair.dataset.testid = `fair-${c.id}`;

    col.append(head, body, fair, stats);
    return { col, name, team, model, side, verdict, badge, body, withdrawn, waiting, text, tokens, rate, ttft, fair, badgeKey: "", status: "" };
  }

  // Those who answer the question on screen (question.asked names them: a debate's two speakers, a
  // values arena's chosen few); everyone when it does not say.
  function answering(state) {
    const named = state.question && Array.isArray(state.question.contestants) ? state.question.contestants : null;
    return named ? state.contestants.filter((c) => named.includes(c.id)) : state.contestants;
  }

  function drawColumns(state) {
    const shown = answering(state);
    // The show's language is part of the key: the columns' labels come from its table.
    const key = JSON.stringify([state.show && state.show.locale, shown.map((c) => [c.id, c.name, c.team, c.model])]);
    if (key !== columnsKey) {
      columnsKey = key;
      columns = {};
      els.duel.replaceChildren();
      for (const c of shown) {
        columns[c.id] = buildColumn(state, c);
        els.duel.append(columns[c.id].col);
      }
    }
    toggle(els.duel, "is-empty", shown.length === 0);
    toggle(els.duel, "is-debate", !!debate);
    toggle(els.duel, "has-turn", !!(debate && debate.turn && !debate.turn.done));
    for (const c of shown) {
      drawColumn(state, c, columns[c.id], state.answers[c.id] || null);
      drawDebate(state, c, columns[c.id]);
    }
  }

  function liveRate(t) {
    if (!t || t.firstTs == null || t.lastTs == null) return null;
    const dt = t.lastTs - t.firstTs;
    const dn = t.lastIdx - t.firstIdx;
    return dt > 0.05 && dn > 0 ? dn / dt : null;
  }

  function finalRate(m) {
    if (!m) return null;
    if (typeof m.tpot === "number" && m.tpot > 0) return 1 / m.tpot;
    if (typeof m.e2e === "number" && typeof m.ttft === "number" && m.output_tokens > 1 && m.e2e > m.ttft) {
      return (m.output_tokens - 1) / (m.e2e - m.ttft);
    }
    return null;
  }

  function drawColumn(state, c, ui, a) {
    const status = a ? a.status : "idle";
    if (ui.status !== status) {
      for (const s of ["streaming", "done", "dnf", "timeout", "cancelled", "idle"]) toggle(ui.col, `is-${s}`, s === status);
      ui.col.dataset.status = status;
      ui.status = status;
    }
    // Withdrawn: the reducer already dropped the text; say so, and never show any of it.
    const dumped = !!(a && a.dumped);
    toggle(ui.col, "is-withdrawn", dumped);
    ui.col.dataset.withdrawn = String(dumped);
    setText(ui.withdrawn, dumped ? t(state, "duel.withdrawn") : "");
    setText(ui.waiting, status === "streaming" && !dumped && !String(a.text || "").trim() ? t(state, "duel.answering") : "");
    let text = a && !dumped ? a.text : "";
    // An answer that ended with nothing on air says why in its box, never an empty box.
    const nothing = !!a && !dumped && !String(a.text || "").trim() && (status === "dnf" || status === "timeout");
    if (nothing) text = status === "timeout" ? t(state, "status.dnf_timeout") : a.reason ? t(state, "status.dnf_reason", { reason: a.reason }) : t(state, "status.dnf");
    toggle(ui.col, "is-empty-answer", nothing);
    if (ui.text.textContent !== text) {
      ui.text.textContent = text;
      // Keep the newest words in view: scroll the body to its end as the answer grows.
      const body = ui.body;
      const over = body.scrollHeight > body.clientHeight + 1;
      toggle(body, "overflowing", over);
      body.scrollTop = over ? body.scrollHeight : 0;
    }

    const tr = trackers[c.id]; // (not `t`: that is the message lookup)
    const m = a && a.metrics;
    const outTokens = m && typeof m.output_tokens === "number" ? m.output_tokens : 0;
    const tokens = a ? Math.max(a.tokens || 0, outTokens) : 0;
    setText(ui.tokens, a && (tokens || status !== "streaming") ? String(tokens) : "—");
    const rate = status === "streaming" ? liveRate(tr) : (finalRate(m) || liveRate(tr));
    setText(ui.rate, fmtRate(rate));
    let ttft = m && typeof m.ttft === "number" ? m.ttft : null;
    if (ttft == null && tr && tr.firstTs != null) {
      const from = tr.startTs != null ? tr.startTs : askedTs;
      if (from != null) ttft = tr.firstTs - from;
    }
    const ttftText = fmtSeconds(ttft);
    setText(ui.ttft, ttftText);
    toggle(ui.ttft.parentNode, "na", ttftText === "—");

    const fairness = a && a.fairness;
    const flagged = !!(fairness && fairness.flagged);
    ui.col.dataset.flagged = String(flagged);
    const why = flagged && Array.isArray(fairness.flags) ? fairness.flags.join("; ") : "";
    setText(ui.fair, flagged ? t(state, "duel.worse_conditions", { why: shorten(why, 90) }) : "");

    // Badge: a correct answer wins; otherwise a DNF/timeout says more than a plain ✗.
    let cls = "";
    let mark = "";
    let label = "";
    const extracted = a && a.extracted != null && a.extracted !== "" ? ` ${shorten(a.extracted, 14)}` : "";
    if (dumped) { cls = "withdrawn"; label = t(state, "badge.withdrawn"); } // no verdict: its extracted answer is its text
    else if (a && a.correct === true) { cls = "correct"; mark = "✓"; label = extracted; }
    else if (status === "dnf") { cls = "dnf"; label = t(state, "badge.dnf"); }
    else if (status === "timeout") { cls = "timeout"; label = t(state, "badge.timeout"); }
    else if (a && a.correct === false) { cls = "wrong"; mark = "✗"; label = extracted; }
    else if (a && a.uncertain) { cls = "pending"; mark = "…"; } // uncertain: neither ✓ nor ✗ until decided
    else if (status === "cancelled") { cls = "cancelled"; label = t(state, "badge.cancelled"); }
    const bkey = `${cls}|${mark}|${label}`;
    if (bkey !== ui.badgeKey) {
      ui.badgeKey = bkey;
      ui.badge.className = cls ? `badge show ${cls}` : "badge";
      ui.badge.replaceChildren();
      if (mark) ui.badge.append(el("span", "mark", mark));
      if (label) ui.badge.append(el("span", "label", label));
      ui.badge.dataset.result = cls;
    }
    toggle(ui.col, "is-correct", !dumped && a && a.correct === true);
    toggle(ui.col, "is-wrong", !dumped && a && a.correct === false);
  }

  // The debate on a column: side badge, speaking highlight, winner mark.
  function drawDebate(state, c, ui) {
    let side = null;
    if (debate) for (const s of ["pro", "con"]) if (debate.sides[s] === c.id) side = s;
    const speaking = !!(side && debate.turn && !debate.turn.done && debate.turn.contestant === c.id);
    let result = "";
    if (side && debate.result) result = debate.result.winner == null ? "tie" : debate.result.winner === c.id ? "winner" : "loser";
    setText(ui.side, side ? t(state, `side.${side}`) : "");
    if (ui.col.dataset.side !== (side || "")) ui.col.dataset.side = side || "";
    if (ui.col.dataset.speaking !== String(speaking)) ui.col.dataset.speaking = String(speaking);
    if (ui.col.dataset.result !== result) ui.col.dataset.result = result;
    toggle(ui.col, "is-debater", !!side);
    toggle(ui.col, "is-speaking", speaking);
    toggle(ui.col, "is-winner", result === "winner");
    setText(ui.verdict, result === "winner" ? t(state, "debate.winner") : result === "tie" ? t(state, "debate.tie") : "");
  }

  function drawScoreboard(state) {
    const sb = state.scoreboard;
    if (sb === drawnScoreboard && columnsKey === drawnScoreboardKey) return;
    drawnScoreboard = sb;
    drawnScoreboardKey = columnsKey;
    els.sbRows.replaceChildren();
    if (!sb) { setText(els.sbSub, ""); return; }
    const stage = state.stages.find((s) => s.index === sb.stage);
    setText(els.sbSub, stage ? stage.title : "");
    const rows = Array.isArray(sb.rows) ? sb.rows : [];
    for (const { row, rank } of rankRows(rows)) {
      const c = contestantById(state, row.contestant);
      const li = el("li", rank === 1 ? "sb-row first" : "sb-row");
      li.dataset.testid = `score-${row.contestant}`;
      const name = el("span", "c-name");
      name.append(el("div", "sb-name", c ? c.name : row.contestant), el("div", "sb-team", c ? c.team : ""));
      const num = (value, unit, cls) => {
        const s = el("span", `c-num ${cls || ""}`.trim(), value);
        if (unit) s.append(el("span", "unit", unit));
        return s;
      };
      let acc = typeof row.accuracy === "number" ? row.accuracy : null;
      if (acc != null && acc <= 1) acc *= 100;
      const accCell = el("span", "c-num sb-acc");
      const accText = el("span", null, acc == null ? "—" : String(Math.round(acc)));
      if (acc != null) accText.append(el("span", "unit", "%"));
      const bar = el("div", "sb-bar");
      const fill = el("i");
      bar.append(fill);
      accCell.append(accText, bar);
      li.append(
        el("span", "c-rank", rank),
        name,
        num(`${row.correct ?? 0}/${row.answered ?? 0}`),
        accCell,
        num(fmtSeconds(row.ttft_median), row.ttft_median == null ? "" : "s"),
        num(fmtSeconds(row.e2e_median), row.e2e_median == null ? "" : "s"),
      );
      els.sbRows.append(li);
      // Grow the accuracy bar after insertion so the width transition runs.
      const width = acc == null ? 0 : Math.max(0, Math.min(100, acc));
      requestAnimationFrame(() => requestAnimationFrame(() => { fill.style.width = `${width}%`; }));
    }
  }

  const page = window.GavelUI.mount({
    graphic: "duel",
    root,
    draw,
    next: () => { view = root.dataset.view === "scoreboard" ? "answers" : "scoreboard"; },
    onUpdate: (d) => { if (d.view === "answers" || d.view === "scoreboard") view = d.view; },
  });
  page.every(100, card.tick);
  // Kept for callers of the first version of this page.
  window.gavelProgram = {
    client: page.client, update: page.update, play: page.play, stop: page.stop, next: page.next, remove: page.remove,
    get view() { return root.dataset.view; },
  };
})();
