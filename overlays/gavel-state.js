/*
 * gavel-state.js: the show state every page keeps, and the reducer that folds events into it.
 *
 * Plain ES2020 script, no build step, no dependencies. Load it with a <script> tag before
 * gavel-client.js; it defines window.GavelState = {EVENT_TYPES, emptyState, normalizeState, reduce,
 * graphicState, isObject} (and module.exports under Node).
 *
 * What it does, and why:
 * - It is the browser's mirror of core/state.py: the same events make the same state on the
 *   server (snapshots, /api/state) and on every page (tests/test_reducer_parity.py runs both).
 *   EVENT_TYPES mirrors the event types of core/events/ (tests/test_events.py checks them).
 * - Pure functions of (state, event): no DOM, no socket, no timers, so the same code runs in any
 *   page, in a test without a studio, or under Node. The socket, the seq bookkeeping and the
 *   render batching are gavel-client.js's; it hands each accepted event to reduce().
 * - reduce() mutates and returns the state it is given (100 tokens/s per contestant: no copying);
 *   a snapshot returns a new state. Unknown event types leave the state as it is (a newer studio).
 */
(function (global) {
  "use strict";

  // Mirrors the `type` literals of core/events/ (sorted, as core.events.event_types()
  // returns them); tests/test_events.py checks the two agree.
  const EVENT_TYPES = Object.freeze([
    "answer.dumped",
    "answer.fairness",
    "answer.finished",
    "answer.graded",
    "answer.path",
    "answer.started",
    "answer.token",
    "attention",
    "debate.result",
    "debate.started",
    "debate.turn",
    "director.command",
    "engine.fault",
    "graphic.cued",
    "graphics.cleared",
    "graphics.client",
    "graphics.refresh",
    "graphics.taken",
    "image.shown",
    "input.refused",
    "judge.scored",
    "leaderboard",
    "poem.form",
    "poll.closed",
    "poll.opened",
    "poll.revealed",
    "poll.tally",
    "program.dropped",
    "qualification.result",
    "question.asked",
    "question.closed",
    "safety.hit",
    "safety.resolved",
    "scoreboard",
    "show.opened",
    "show.status",
    "snapshot",
    "stage.ended",
    "stage.started",
    "store.outage",
    "subtitle.source",
    "subtitle.started",
    "subtitle.summary",
    "subtitle.token",
    "subtitle.translated",
    "training.finished",
    "training.progress",
  ]);

  // ---------------------------------------------------------------------------------------
  // Show state and its reducer. Pure functions of (state, event); no DOM, no socket, so the
  // same code can be exercised without a browser.
  // ---------------------------------------------------------------------------------------

  function emptyState() {
    return {
      show: null,
      stages: [],
      contestants: [],
      current_stage: null,
      question: null,
      answers: {},
      scoreboard: null,
      graphics: { program: {}, preview: {} }, // output -> graphic name -> {visible, data}
      clients: {},                            // client id -> graphics page (director channel)
      polls: {},          // poll id -> poll as opened + status, revealed, counts, total, winner, decided_by
      current_poll: null, // the poll phones show (the latest opened)
      judged: {},         // target -> judge -> {criterion: score}  (director channel)
      leaderboard: null,  // the latest leaderboard event's data
      held: {},           // "question:contestant" -> the content-filter hold awaiting the director
      uncertain: {},      // "question:contestant" -> an uncertain verdict awaiting a decision (+ stage, ts)
      debate: null,       // the debate on now: started data + turn + result
      subtitles: null,    // the subtitles stage on now: started data + lines [{..., translations}] + summary
      subtitle_lags: {},  // contestant -> finished lines' lags (the radar's translation-lag axis)
      image_poem: null,   // the picture on air (image.shown) + forms {contestant: poem.form}
      attention: {},      // "question:contestant" -> the latest attention event's data (heatmaps)
      training: {},       // contestant -> training job as last reported (+ status, + qualification)
    };
  }

  function graphicState(g) {
    return { visible: isObject(g) && g.visible === true, data: isObject(g) && isObject(g.data) ? g.data : {} };
  }

  function newAnswer() {
    return { text: "", status: "streaming", reason: "", tokens: 0, correct: null, extracted: null, grade_reason: "", uncertain: false, decided_by: null,
      metrics: null, dumped: false, path: [], fairness: null };
  }

  function newPoll(d) {
    const choices = Array.isArray(d.choices) ? d.choices.filter(isObject) : [];
    const counts = {};
    for (const c of choices) counts[c.id] = 0;
    return {
      poll_id: d.poll_id, title: d.title, kind: d.kind, choices: choices, allow_change: d.allow_change === true,
      dimension: d.dimension == null ? null : d.dimension, stage: d.stage == null ? null : d.stage,
      closes_ts: d.closes_ts == null ? null : d.closes_ts,
      status: "open", revealed: false, counts: counts, total: 0, winner: null, decided_by: null,
    };
  }

  function isObject(v) {
    return v !== null && typeof v === "object" && !Array.isArray(v);
  }

  // A snapshot's data is the server's show state dict. Fill in anything missing so graphics
  // can rely on the shape even if the server omits empty fields.
  function normalizeState(data) {
    if (!isObject(data)) return emptyState();
    // Keys this client does not know (a newer server) are kept, not dropped.
    const s = Object.assign(emptyState(), data, {
      show: null, stages: [], contestants: [], current_stage: null, question: null, answers: {}, scoreboard: null,
      graphics: { program: {}, preview: {} }, clients: {}, polls: {}, current_poll: null, judged: {}, leaderboard: null, held: {},
      uncertain: {}, debate: null, subtitles: null, subtitle_lags: {}, image_poem: null, attention: {}, training: {},
    });
    if (isObject(data.show)) s.show = Object.assign({ show_id: "", title: "", status: "idle", locale: "en", messages: {} }, data.show);
    if (Array.isArray(data.stages)) s.stages = data.stages.filter(isObject).map((st) => Object.assign({ status: "pending" }, st));
    if (Array.isArray(data.contestants)) s.contestants = data.contestants.filter(isObject);
    if (Number.isInteger(data.current_stage)) s.current_stage = data.current_stage;
    if (isObject(data.question)) s.question = data.question;
    if (isObject(data.answers)) {
      for (const [cid, a] of Object.entries(data.answers)) {
        if (isObject(a)) s.answers[cid] = Object.assign(newAnswer(), a);
      }
    }
    if (isObject(data.scoreboard)) s.scoreboard = data.scoreboard;
    if (isObject(data.graphics)) {
      for (const [output, graphics] of Object.entries(data.graphics)) {
        if (!isObject(graphics)) continue;
        s.graphics[output] = {};
        for (const [name, g] of Object.entries(graphics)) s.graphics[output][name] = graphicState(g);
      }
    }
    if (isObject(data.clients)) {
      for (const [id, c] of Object.entries(data.clients)) if (isObject(c)) s.clients[id] = c;
    }
    if (isObject(data.polls)) {
      for (const [id, p] of Object.entries(data.polls)) if (isObject(p)) s.polls[id] = Object.assign(newPoll(p), p);
    }
    if (typeof data.current_poll === "string") s.current_poll = data.current_poll;
    if (isObject(data.judged)) s.judged = data.judged;
    if (isObject(data.leaderboard)) s.leaderboard = data.leaderboard;
    if (isObject(data.held)) s.held = data.held;
    if (isObject(data.uncertain)) s.uncertain = data.uncertain;
    for (const key of ["debate", "subtitles", "image_poem"]) if (isObject(data[key])) s[key] = data[key];
    if (isObject(data.subtitle_lags)) s.subtitle_lags = data.subtitle_lags;
    if (isObject(data.attention)) s.attention = data.attention;
    if (isObject(data.training)) s.training = data.training;
    return s;
  }

  function subtitleLine(state, index) {
    const lines = state.subtitles ? state.subtitles.lines : [];
    const line = Number.isInteger(index) && index >= 0 && index < lines.length ? lines[index] : null;
    return line && line.line === index ? line : null;
  }

  function stageEntry(state, index) {
    return state.stages.find((st) => st.index === index) || null;
  }

  // Answer events for a question other than the one on screen are stragglers: ignore them.
  function answerEntry(state, d, create) {
    if (!isObject(d) || typeof d.contestant !== "string") return null;
    if (state.question && d.question_id != null && state.question.question_id !== d.question_id) return null;
    let a = state.answers[d.contestant];
    if (!a && create) a = state.answers[d.contestant] = newAnswer();
    return a || null;
  }

  /*
   * reduce(state, event) -> state. Mutates and returns `state` (token events arrive at
   * 100/s per contestant; copying the whole state for each would be wasteful). A snapshot
   * returns a brand new state object.
   */
  function reduce(state, ev) {
    if (!isObject(ev)) return state;
    const d = isObject(ev.data) ? ev.data : {};
    switch (ev.type) {
      case "snapshot":
        return normalizeState(ev.data);

      case "show.opened": {
        // A (re)opened show starts from scratch, except graphics and clients (as in show_state.py).
        const s = emptyState();
        for (const kept of ["graphics", "clients", "polls", "current_poll", "judged", "leaderboard", "held", "uncertain",
                            "debate", "subtitles", "subtitle_lags", "image_poem", "attention", "training"]) {
          if (state[kept] !== undefined) s[kept] = state[kept];
        }
        s.show = {
          show_id: d.show_id, title: d.title, status: "idle",
          locale: typeof d.locale === "string" ? d.locale : "en", messages: isObject(d.messages) ? d.messages : {},
        };
        s.stages = (Array.isArray(d.stages) ? d.stages : []).filter(isObject).map((st) => ({
          index: st.index, kind: st.kind, title: st.title, status: "pending",
        }));
        s.contestants = (Array.isArray(d.contestants) ? d.contestants : []).filter(isObject).map((c) => ({
          id: c.id, name: c.name, team: c.team == null ? "" : c.team, engine: c.engine == null ? "" : c.engine,
          model: c.model == null ? "" : c.model, adapter: c.adapter == null ? null : c.adapter,
        }));
        Object.assign(state, s);
        return state;
      }

      case "show.status":
        if (!state.show) state.show = { show_id: "", title: "", status: "idle" };
        state.show.status = d.status;
        return state;

      case "stage.started": {
        let st = stageEntry(state, d.index);
        if (!st) {
          st = { index: d.index, kind: d.kind, title: d.title, status: "pending" };
          state.stages.push(st);
          state.stages.sort((a, b) => a.index - b.index);
        }
        if (d.kind != null) st.kind = d.kind;
        if (d.title != null) st.title = d.title;
        st.status = "running";
        state.current_stage = d.index;
        state.question = null;
        state.answers = {};
        return state;
      }

      case "stage.ended": {
        const st = stageEntry(state, d.index);
        if (st) st.status = d.status;
        return state;
      }

      case "question.asked": {
        state.question = d;
        state.answers = {};
        // Only those who answer it get an answer (the duel shows their columns alone).
        const answering = Array.isArray(d.contestants) ? d.contestants : state.contestants.map((c) => c.id);
        for (const id of answering) if (typeof id === "string") state.answers[id] = newAnswer();
        return state;
      }

      case "answer.started":
        answerEntry(state, d, true);
        return state;

      case "answer.token": {
        const a = answerEntry(state, d, true);
        // Tokens after answer.finished would contradict its authoritative text: drop them.
        // A dumped answer's text never comes back.
        if (a && a.status === "streaming" && !a.dumped) {
          if (typeof d.text === "string") a.text += d.text;
          if (typeof d.index === "number") a.tokens = d.index;
        }
        return state;
      }

      case "answer.path": {
        const a = answerEntry(state, d, true);
        // The same rules as answer.token: nothing after the answer ended, nothing once dumped.
        if (a && a.status === "streaming" && !a.dumped && Array.isArray(d.steps)) {
          for (const step of d.steps) if (isObject(step)) a.path.push(step);
        }
        return state;
      }

      case "answer.fairness": {
        const a = answerEntry(state, d, true);
        if (a) a.fairness = d;
        return state;
      }

      case "answer.finished": {
        delete state.uncertain[d.question_id + ":" + d.contestant]; // a new attempt gets its own grade
        const a = answerEntry(state, d, true);
        if (a) {
          a.status = d.status;
          a.reason = typeof d.reason === "string" ? d.reason : "";
          if (typeof d.text === "string") a.text = a.dumped ? "" : d.text;
          a.metrics = isObject(d.metrics) ? d.metrics : null;
          if (a.metrics && typeof a.metrics.output_tokens === "number") a.tokens = a.metrics.output_tokens;
        }
        if (state.image_poem && state.image_poem.question_id === d.question_id && typeof d.contestant === "string") {
          state.image_poem.poems[d.contestant] = a && a.dumped ? "" : String(d.text == null ? "" : d.text);  // outlives the stage
        }
        return state;
      }

      case "answer.graded": {
        // correct null is uncertain: it waits in state.uncertain until a second answer.graded
        // (decided_by) settles it; the same rules as core/state.py.
        const key = d.question_id + ":" + d.contestant;
        const waiting = state.uncertain[key];
        delete state.uncertain[key];
        const a = answerEntry(state, d, true);
        const correct = typeof d.correct === "boolean" ? d.correct : null;
        if (a) {
          a.correct = correct;
          a.extracted = d.extracted === undefined ? null : d.extracted;
          a.grade_reason = typeof d.reason === "string" ? d.reason : "";
          a.uncertain = correct === null;
          a.decided_by = d.decided_by == null ? null : d.decided_by;
        }
        if (correct === null) { // the answer as aired (blank if dumped), for whoever decides
          const stage = waiting ? waiting.stage : state.question ? state.question.stage : (state.current_stage || 0);
          const text = a ? a.text : waiting ? waiting.text : "";
          state.uncertain[key] = Object.assign({}, d, { stage: stage, ts: ev.ts, text: text });
        }
        return state;
      }

      case "question.closed":
        // Keep question and answers: the final frame stays on screen until the next question.
        return state;

      case "scoreboard":
        state.scoreboard = d;
        return state;

      case "graphic.cued":
        if (typeof d.graphic === "string") state.graphics.preview[d.graphic] = graphicState(d);
        return state;

      case "graphics.taken": {
        // Program's whole graphics state: a page that joins late needs no history.
        const program = {};
        if (isObject(d.graphics)) for (const [name, g] of Object.entries(d.graphics)) program[name] = graphicState(g);
        state.graphics.program = program;
        return state;
      }

      case "graphics.cleared": // panic: everything off, on every output
        for (const output of Object.values(state.graphics)) {
          for (const g of Object.values(output)) g.visible = false;
        }
        return state;

      case "graphics.client":
        if (typeof d.client_id !== "string") return state;
        if (d.connected) state.clients[d.client_id] = Object.assign({}, d);
        // A reloaded page reconnects before its old socket's goodbye arrives: only the socket
        // that is registered now may remove the entry.
        else if (state.clients[d.client_id] && state.clients[d.client_id].connection === d.connection) {
          delete state.clients[d.client_id];
        }
        return state;

      case "poll.opened":
        if (typeof d.poll_id !== "string") return state;
        state.polls[d.poll_id] = newPoll(d);
        state.current_poll = d.poll_id;
        return state;

      case "poll.tally": {
        const p = state.polls[d.poll_id];
        if (p && isObject(d.counts)) { p.counts = Object.assign({}, d.counts); p.total = typeof d.total === "number" ? d.total : 0; }
        return state;
      }

      case "poll.closed": {
        const p = state.polls[d.poll_id];
        if (p) {
          p.status = "closed";
          p.counts = isObject(d.counts) ? Object.assign({}, d.counts) : {};
          p.total = d.total;
          p.winner = d.winner == null ? null : d.winner;
          p.decided_by = d.decided_by == null ? null : d.decided_by;
        }
        return state;
      }

      case "poll.revealed": {
        const p = state.polls[d.poll_id];
        if (p) p.revealed = true;
        return state;
      }

      case "judge.scored":
        if (typeof d.target !== "string" || typeof d.judge !== "string") return state;
        if (!isObject(state.judged[d.target])) state.judged[d.target] = {};
        state.judged[d.target][d.judge] = Object.assign({}, d.scores);
        return state;

      case "leaderboard":
        state.leaderboard = d;
        return state;

      case "answer.dumped": {
        const a = answerEntry(state, d, false);
        if (a) { a.text = ""; a.dumped = true; a.path = []; }
        delete state.attention[d.question_id + ":" + d.contestant];
        for (const line of state.subtitles ? state.subtitles.lines : []) {  // a dumped live translation
          const tr = line.question_id === d.question_id ? line.translations[d.contestant] : null;
          if (tr) { tr.text = ""; tr.dumped = true; }
        }
        return state;
      }

      case "debate.started":
        state.debate = Object.assign({}, d, { turn: null, result: null });
        return state;

      case "debate.turn":
        if (state.debate) state.debate.turn = d;
        return state;

      case "debate.result":
        if (state.debate) { state.debate.result = d; state.debate.turn = null; }
        return state;

      case "subtitle.started":
        state.subtitles = Object.assign({}, d, { lines: [], summary: null });
        return state;

      case "subtitle.source":
        if (state.subtitles) state.subtitles.lines.push(Object.assign({}, d, { translations: {} }));
        return state;

      case "subtitle.token": {
        const line = subtitleLine(state, d.line);
        if (line && typeof d.contestant === "string") {
          const tr = line.translations[d.contestant] || (line.translations[d.contestant] = { text: "", status: "streaming" });
          if (tr.status === "streaming" && !tr.dumped && typeof d.text === "string") tr.text += d.text;  // as answer.token
        }
        return state;
      }

      case "subtitle.translated": {
        const line = subtitleLine(state, d.line);
        if (line && typeof d.contestant === "string") {
          const dumped = Boolean(line.translations[d.contestant] && line.translations[d.contestant].dumped);
          line.translations[d.contestant] = {
            text: dumped ? "" : d.text, status: d.status, reason: d.reason == null ? "" : d.reason,
            lag_s: d.lag_s == null ? null : d.lag_s, ttft_lag_s: d.ttft_lag_s == null ? null : d.ttft_lag_s, waited_s: d.waited_s,
          };
          if (dumped) line.translations[d.contestant].dumped = true;
        }
        if (d.status !== "cancelled" && typeof d.contestant === "string") {
          (state.subtitle_lags[d.contestant] = state.subtitle_lags[d.contestant] || []).push({
            stage: d.stage, line: d.line, lag_s: d.lag_s == null ? null : d.lag_s,
            ttft_lag_s: d.ttft_lag_s == null ? null : d.ttft_lag_s, status: d.status,
          });
        }
        return state;
      }

      case "subtitle.summary":
        if (state.subtitles) state.subtitles.summary = d;
        return state;

      case "image.shown":
        state.image_poem = Object.assign({}, d, { forms: {}, poems: {} });
        return state;

      case "training.progress":
      case "training.finished": {
        if (typeof d.contestant !== "string") return state;
        let job = state.training[d.contestant] || {};
        if (job.job !== d.job) job = { qualification: job.qualification === undefined ? null : job.qualification };
        job = Object.assign({}, job, d);
        if (ev.type === "training.progress") job.status = "running";
        else job.step = d.steps;
        state.training[d.contestant] = job;
        return state;
      }

      case "qualification.result":
        if (typeof d.contestant !== "string") return state;
        if (!state.training[d.contestant]) state.training[d.contestant] = { contestant: d.contestant };
        state.training[d.contestant].qualification = d;
        return state;

      case "attention":
        if (typeof d.question_id === "string" && typeof d.contestant === "string") state.attention[d.question_id + ":" + d.contestant] = d;
        return state;

      case "poem.form":
        if (state.image_poem && state.image_poem.question_id === d.question_id) state.image_poem.forms[d.contestant] = d;
        return state;

      case "safety.hit":
        if (d.state === "held") state.held[d.question_id + ":" + d.contestant] = d;
        return state;

      case "safety.resolved":
        delete state.held[d.question_id + ":" + d.contestant];
        return state;

      case "graphics.refresh": // acted on by the client (reload), not state
      case "director.command": // director-panel business; graphics ignore it
      default: // unknown types: forward compatible
        return state;
    }
  }

  global.GavelState = Object.freeze({ EVENT_TYPES, emptyState, normalizeState, reduce, graphicState, isObject });
  if (typeof module !== "undefined" && module.exports) module.exports = global.GavelState;
})(typeof window !== "undefined" ? window : globalThis);
