/*
 * program.js: the on-air "token duel + scoreboard" graphic (program.html).
 *
 * State comes from the shared GavelClient (socket, resync, reducer); this file only draws it.
 * Rules kept here:
 * - Model and viewer text only ever enters the page through textContent (never innerHTML).
 * - The countdown runs on the server's clock (client.serverNow()), never the page clock alone.
 * - The connection indicator never shows on air: only with ?debug=1 or on preview/director.
 * - CasparCG template calls are globals: update(data), play(), stop(), next(), remove().
 *   With ?manual=1 the graphic waits for play(); otherwise (OBS) it is visible at once.
 */
(function () {
  "use strict";

  const params = new URLSearchParams(location.search);
  const flag = (name) => ["1", "true", "yes", "on"].includes((params.get(name) || "").toLowerCase());
  const manual = flag("manual");
  const CANVAS_W = 1920;
  const CANVAS_H = 1080;
  const LOW_TIME_MS = 5000;
  const RING_LENGTH = 2 * Math.PI * 52; // circumference of the countdown ring (r=52)

  const root = document.getElementById("stage");
  const q = (testid) => root.querySelector(`[data-testid="${testid}"]`);
  const els = {
    strip: q("stage-strip"),
    stripNum: q("stage-number"),
    stripTitle: q("stage-title"),
    stripSub: q("stage-subtitle"),
    stripKind: q("stage-kind"),
    question: q("question"),
    qNum: q("question-number"),
    qText: q("question-text"),
    qChoices: q("question-choices"),
    timer: q("countdown"),
    timerNum: q("countdown-value"),
    ring: root.querySelector(".q-ring-fg"),
    duel: q("answers"),
    scoreboard: q("scoreboard"),
    sbSub: q("scoreboard-subtitle"),
    sbRows: q("scoreboard-rows"),
  };

  // What the operator set through update()/next(), and what events imply for the layout.
  const display = { title: null, subtitle: null };
  let view = "answers";           // "answers" | "scoreboard"
  let removed = false;

  // Per-contestant token-rate trackers, from event timestamps (server clock, so replays agree).
  let trackers = {};
  let askedTs = null;             // ts of the current question.asked, when seen
  let closedQuestion = null;      // question_id of the last question.closed

  // Caches so a frame only touches the DOM where something changed.
  let questionKey = null;
  let columnsKey = null;
  let columns = {};
  let drawnScoreboard = undefined;
  let drawnScoreboardKey = null;

  // ---- helpers ---------------------------------------------------------------------------------

  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text != null) e.textContent = String(text);
    return e;
  }

  function setText(node, text) {
    const t = text == null ? "" : String(text);
    if (node.textContent !== t) node.textContent = t;
  }

  function toggle(node, cls, on) {
    if (node.classList.contains(cls) !== Boolean(on)) node.classList.toggle(cls, Boolean(on));
  }

  function humanize(kind) {
    return typeof kind === "string" ? kind.replace(/[_-]+/g, " ").trim() : "";
  }

  function fmtSeconds(s) {
    if (typeof s !== "number" || !isFinite(s) || s < 0) return "—";
    return s < 10 ? s.toFixed(2) : s.toFixed(1);
  }

  function fmtRate(r) {
    if (typeof r !== "number" || !isFinite(r) || r <= 0) return "—";
    return r < 100 ? r.toFixed(1) : String(Math.round(r));
  }

  function shorten(s, n) {
    s = String(s);
    return s.length > n ? s.slice(0, n - 1) + "…" : s;
  }

  function contestantById(state, id) {
    return state.contestants.find((c) => c.id === id) || null;
  }

  function currentStage(state) {
    if (state.current_stage == null) return null;
    return state.stages.find((s) => s.index === state.current_stage) || null;
  }

  // ---- canvas scaling: the layout is a fixed 1920x1080 canvas fitted to the window --------------

  function fit() {
    const w = window.innerWidth || CANVAS_W;
    const h = window.innerHeight || CANVAS_H;
    const s = Math.min(w / CANVAS_W, h / CANVAS_H);
    root.style.transform = Math.abs(s - 1) < 1e-3 ? "" : `scale(${s})`;
  }
  window.addEventListener("resize", fit);
  fit();

  // ---- events -> view bookkeeping ----------------------------------------------------------------

  function noteEvents(state, batch) {
    for (const ev of batch) {
      const d = ev.data || {};
      switch (ev.type) {
        case "snapshot":
          trackers = {};
          askedTs = null;
          closedQuestion = null;
          break;
        case "show.opened":
        case "stage.started":
          trackers = {};
          askedTs = null;
          closedQuestion = null;
          view = "answers";
          break;
        case "question.asked":
          trackers = {};
          askedTs = ev.ts;
          closedQuestion = null;
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
        case "question.closed":
          closedQuestion = d.question_id;
          break;
        case "scoreboard":
          view = "scoreboard";
          break;
        default:
          break;
      }
    }
  }

  // ---- drawing ----------------------------------------------------------------------------------

  function draw(state) {
    if (!state) return;
    const effective = view === "scoreboard" && state.scoreboard ? "scoreboard" : "answers";
    if (root.dataset.view !== effective) root.dataset.view = effective;
    drawStrip(state);
    drawQuestion(state);
    drawColumns(state);
    drawScoreboard(state);
    drawTimer();
  }

  function drawStrip(state) {
    const show = state.show;
    const stage = currentStage(state);
    let num = "";
    if (stage) {
      const pos = state.stages.indexOf(stage);
      num = state.stages.length > 1 ? `Stage ${pos + 1}/${state.stages.length}` : "Stage";
    }
    const title = display.title || (stage && stage.title) || (show && show.title) || "";
    const sub = display.subtitle != null ? display.subtitle : (stage && show ? show.title : "");
    setText(els.stripNum, num);
    setText(els.stripTitle, title);
    setText(els.stripSub, sub === title ? "" : sub);
    setText(els.stripKind, stage ? humanize(stage.kind) : "");
    toggle(els.strip, "is-empty", !title && !num);
  }

  function drawQuestion(state) {
    const qu = state.question;
    toggle(els.question, "is-empty", !qu);
    if (!qu) { questionKey = null; return; }
    const key = `${qu.question_id}|${qu.number}|${qu.text}`;
    if (key === questionKey) return;
    const fresh = questionKey !== null || root.classList.contains("on");
    questionKey = key;
    setText(els.qNum, qu.number != null && qu.of != null ? `Question ${qu.number} / ${qu.of}` : "Question");
    const text = typeof qu.text === "string" ? qu.text : "";
    setText(els.qText, text);
    toggle(els.qText, "q-long", text.length > 110 && text.length <= 200);
    toggle(els.qText, "q-xlong", text.length > 200);
    els.qChoices.replaceChildren();
    if (Array.isArray(qu.choices)) {
      qu.choices.forEach((choice, i) => {
        const li = el("li");
        li.dataset.testid = `choice-${i}`;
        li.append(el("span", "ch-key", String.fromCharCode(65 + i)), el("span", "ch-text", choice));
        els.qChoices.append(li);
      });
    }
    if (fresh) {
      // Restart the entry animation for a new question.
      els.question.classList.remove("q-enter");
      void els.question.offsetWidth;
      els.question.classList.add("q-enter");
    }
  }

  function buildColumn(c) {
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
    const badge = el("div", "badge");
    badge.dataset.testid = `badge-${c.id}`;
    head.append(id, badge);

    const body = el("div", "col-body");
    const p = el("p", "col-text");
    const text = el("span", "txt");
    text.dataset.testid = `answer-text-${c.id}`;
    p.append(text, el("span", "caret"));
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
    const tokens = stat("Tokens", "", "tokens");
    const rate = stat("Tokens/s", "", "tps");
    const ttft = stat("TTFT", "s", "ttft");

    col.append(head, body, stats);
    return { col, name, team, model, badge, body, text, tokens, rate, ttft, badgeKey: "", status: "" };
  }

  function drawColumns(state) {
    const key = JSON.stringify(state.contestants.map((c) => [c.id, c.name, c.team, c.model]));
    if (key !== columnsKey) {
      columnsKey = key;
      columns = {};
      els.duel.replaceChildren();
      for (const c of state.contestants) {
        columns[c.id] = buildColumn(c);
        els.duel.append(columns[c.id].col);
      }
    }
    toggle(els.duel, "is-empty", state.contestants.length === 0);
    for (const c of state.contestants) drawColumn(state, c, columns[c.id], state.answers[c.id] || null);
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
    const text = a ? a.text : "";
    if (ui.text.textContent !== text) {
      ui.text.textContent = text;
      // Keep the newest words in view: scroll the body to its end as the answer grows.
      const body = ui.body;
      const over = body.scrollHeight > body.clientHeight + 1;
      toggle(body, "overflowing", over);
      body.scrollTop = over ? body.scrollHeight : 0;
    }

    const t = trackers[c.id];
    const m = a && a.metrics;
    const outTokens = m && typeof m.output_tokens === "number" ? m.output_tokens : 0;
    const tokens = a ? Math.max(a.tokens || 0, outTokens) : 0;
    setText(ui.tokens, a && (tokens || status !== "streaming") ? String(tokens) : "—");
    const rate = status === "streaming" ? liveRate(t) : (finalRate(m) || liveRate(t));
    setText(ui.rate, fmtRate(rate));
    let ttft = m && typeof m.ttft === "number" ? m.ttft : null;
    if (ttft == null && t && t.firstTs != null) {
      const from = t.startTs != null ? t.startTs : askedTs;
      if (from != null) ttft = t.firstTs - from;
    }
    const ttftText = fmtSeconds(ttft);
    setText(ui.ttft, ttftText);
    toggle(ui.ttft.parentNode, "na", ttftText === "—");

    // Badge: a correct answer wins; otherwise a DNF/timeout says more than a plain ✗.
    let cls = "";
    let mark = "";
    let label = "";
    const extracted = a && a.extracted != null && a.extracted !== "" ? ` ${shorten(a.extracted, 14)}` : "";
    if (a && a.correct === true) { cls = "correct"; mark = "✓"; label = extracted; }
    else if (status === "dnf") { cls = "dnf"; label = "DNF"; }
    else if (status === "timeout") { cls = "timeout"; label = "Timeout"; }
    else if (a && a.correct === false) { cls = "wrong"; mark = "✗"; label = extracted; }
    else if (status === "cancelled") { cls = "cancelled"; label = "Cancelled"; }
    const bkey = `${cls}|${mark}|${label}`;
    if (bkey !== ui.badgeKey) {
      ui.badgeKey = bkey;
      ui.badge.className = cls ? `badge show ${cls}` : "badge";
      ui.badge.replaceChildren();
      if (mark) ui.badge.append(el("span", "mark", mark));
      if (label) ui.badge.append(el("span", "label", label));
      ui.badge.dataset.result = cls;
    }
    toggle(ui.col, "is-correct", a && a.correct === true);
    toggle(ui.col, "is-wrong", a && a.correct === false);
  }

  function rankRows(rows) {
    // Most correct first, then accuracy, then the faster median end-to-end time.
    const e2e = (r) => (typeof r.e2e_median === "number" ? r.e2e_median : Infinity);
    const sorted = rows.slice().sort((x, y) =>
      (y.correct || 0) - (x.correct || 0) || (y.accuracy || 0) - (x.accuracy || 0) || e2e(x) - e2e(y));
    let rank = 0;
    return sorted.map((r, i) => {
      const prev = sorted[i - 1];
      if (!prev || prev.correct !== r.correct || prev.accuracy !== r.accuracy) rank = i + 1;
      return { row: r, rank };
    });
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

  // The countdown follows the server clock: deadline_ts is server wall time.
  function drawTimer() {
    const state = client.state;
    const qu = state && state.question;
    if (!qu || typeof qu.deadline_ts !== "number") {
      toggle(els.timer, "is-empty", true);
      return;
    }
    toggle(els.timer, "is-empty", false);
    const answers = Object.values(state.answers);
    const settled = answers.length > 0 && answers.every((a) => a.status !== "streaming");
    const finished = closedQuestion === qu.question_id || settled;
    const remaining = qu.deadline_ts * 1000 - client.serverNow();
    const limit = typeof qu.time_limit_s === "number" && qu.time_limit_s > 0 ? qu.time_limit_s * 1000 : 30000;
    toggle(els.timer, "done", finished);
    if (finished) return;
    if (remaining <= 0) {
      toggle(els.timer, "over", true);
      toggle(els.timer, "low", false);
      setText(els.timerNum, "TIME");
      els.ring.style.strokeDashoffset = String(RING_LENGTH);
      return;
    }
    toggle(els.timer, "over", false);
    toggle(els.timer, "low", remaining <= LOW_TIME_MS);
    setText(els.timerNum, String(Math.ceil(remaining / 1000)));
    const frac = Math.max(0, Math.min(1, remaining / limit));
    els.ring.style.strokeDashoffset = String(RING_LENGTH * (1 - frac));
  }

  // ---- connection indicator (never on air) --------------------------------------------------------

  let connEl = null;
  let lastStatus = null;
  function onStatus(st) {
    lastStatus = st;
    if (!connEl) return;
    connEl.className = st.connected ? "conn up" : "conn";
    connEl.dataset.state = st.status;
    const label = st.connected ? `LIVE · ${st.channel} · seq ${st.lastSeq}` :
      st.status === "connecting" ? `CONNECTING · ${st.channel}` : `RECONNECTING · ${st.channel}`;
    setText(connEl, label);
  }

  // ---- the client -----------------------------------------------------------------------------------

  const client = new window.GavelClient({
    defaultChannel: "program",
    render: (state, batch, c) => {
      noteEvents(state, batch);
      draw(state);
      if (lastStatus) onStatus(Object.assign(lastStatus, { lastSeq: c.lastSeq }));
    },
    onStatus,
    autoStart: false,
  });
  if (flag("debug") || client.channel === "preview" || client.channel === "director") {
    connEl = el("div", "conn");
    connEl.dataset.testid = "connection-status";
    root.append(connEl);
  }
  const timerInterval = setInterval(drawTimer, 100);
  if (!manual) root.classList.add("on");
  draw(client.state);
  client.start();

  // ---- CasparCG template calls (and OGraf, through program.ograf.mjs) ----------------------------------

  // update(data): string JSON (or CasparCG templateData XML) or an object; merges display fields.
  function parseUpdate(data) {
    if (data == null) return {};
    if (typeof data === "object") return data;
    const s = String(data).trim();
    if (!s) return {};
    if (s[0] === "<") {
      const out = {};
      const doc = new DOMParser().parseFromString(s, "application/xml");
      for (const comp of doc.querySelectorAll("componentData")) {
        const d = comp.querySelector("data");
        if (comp.getAttribute("id") && d) out[comp.getAttribute("id")] = d.getAttribute("value");
      }
      return out;
    }
    try { const v = JSON.parse(s); return v && typeof v === "object" ? v : {}; } catch (e) { return {}; }
  }

  function update(data) {
    const d = parseUpdate(data);
    if ("title" in d) display.title = d.title == null || d.title === "" ? null : String(d.title);
    if ("subtitle" in d) display.subtitle = d.subtitle == null ? null : String(d.subtitle);
    if (d.view === "answers" || d.view === "scoreboard") view = d.view;
    draw(client.state);
  }

  function play() {
    if (removed) return;
    root.classList.add("on");
  }

  function stop() {
    root.classList.remove("on");
  }

  function next() {
    view = root.dataset.view === "scoreboard" ? "answers" : "scoreboard";
    draw(client.state);
  }

  function remove() {
    removed = true;
    clearInterval(timerInterval);
    client.close();
  }

  window.update = update;
  window.play = play;
  window.stop = stop;
  window.next = next;
  window.remove = remove;
  window.gavelProgram = { client, update, play, stop, next, remove, get view() { return root.dataset.view; } };

  // An OGraf host that cannot call into this frame directly (different origin) posts messages;
  // only the embedding parent is listened to.
  window.addEventListener("message", (e) => {
    if (e.source !== window.parent || e.source === window) return;
    const m = e.data;
    if (!m || typeof m !== "object" || typeof m.gavel !== "string") return;
    const fn = { update, play, stop, next, remove }[m.gavel];
    if (fn) fn(m.data);
  });
})();
