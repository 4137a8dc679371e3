/*
 * gavel-client.js: the one shared client every on-air graphic uses.
 *
 * Plain ES2020 script, no build step, no dependencies. Load it with a <script> tag; it defines
 * window.GavelClient.
 *
 * What it does, and why:
 * - Connects to ws(s)://<host>/ws/<channel>?since=<lastSeq>[&token=...]. The channel comes from
 *   the page URL's ?channel= (the graphic supplies the default), the token from ?token=, the host
 *   from the page itself, or from ?server= when the page is loaded from disk (CasparCG file://).
 * - Reconnects forever with exponential back-off and full jitter: an overlay opened before the
 *   studio is up connects as soon as it is, and a restarting studio is not hammered by every
 *   graphic at once. The back-off resets once a connection has stayed healthy for a while.
 * - Resyncs by seq. Every event carries a per-channel seq (1, 2, 3, ... no gaps). The client
 *   drops seq <= lastSeq (a duplicate from a replay), and on a gap (seq > lastSeq + 1) it closes
 *   and reconnects with since=lastSeq so the server replays what was missed. A `snapshot` event
 *   replaces the whole state and sets lastSeq to its seq (the server sends one when the missed
 *   events are no longer in its log, so it is accepted whatever its seq).
 * - Keeps a reducer-built mirror of the server's show state and hands it to the graphic's render
 *   callback at most once per animation frame, so 100 tokens/s cost one layout per frame.
 * - Never blanks: while disconnected the last good state stays on screen.
 * - Sends nothing: graphics are receive-only.
 * - A graphics page names itself (option `graphic`): it fetches /overlays/version.json once at
 *   load and connects with &graphic=<name>&version=<that>&client=<id> (a random id kept in
 *   sessionStorage, so a reload keeps it), which puts it on the director's registry of outputs.
 *   A live `graphics.refresh` aimed at "all", its graphic name or its client id reloads the page.
 *   client.graphic(name) -> {visible, data}: that graphic's state on this page's output (program
 *   on the program channel, preview on preview and director).
 *
 * Tests inspect window.__gavel = {events, lastSeq, connected, reconnects}.
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

  // ---------------------------------------------------------------------------------------
  // The client: socket, back-off, seq bookkeeping, render batching.
  // ---------------------------------------------------------------------------------------

  function pageParams() {
    try { return new URLSearchParams(global.location ? global.location.search : ""); } catch (e) { return new URLSearchParams(""); }
  }

  // sessionStorage, where the browser allows it (some file:// hosts do not).
  function storage(op, key, value) {
    try {
      const s = global.sessionStorage;
      if (!s) return null;
      if (op === "set") { s.setItem(key, value); return value; }
      return s.getItem(key);
    } catch (e) {
      return null;
    }
  }

  // One id per (tab, graphic, channel), kept across reloads so the panel's registry stays stable.
  function stableClientId(graphic, channel) {
    const key = `gavel.client.${graphic}.${channel}`;
    const known = storage("get", key);
    if (known) return known;
    const id = global.crypto && typeof global.crypto.randomUUID === "function"
      ? global.crypto.randomUUID().replace(/-/g, "").slice(0, 16)
      : Math.random().toString(16).slice(2, 10) + Math.random().toString(16).slice(2, 10);
    storage("set", key, id);
    return id;
  }

  const DEFAULTS = {
    channel: null,          // explicit channel; else ?channel=, else defaultChannel
    defaultChannel: "program",
    token: null,            // explicit token; else ?token=
    server: null,           // "host:port" or "ws(s)://host:port"; else ?server=, else location.host
    graphic: null,          // this page's graphic name (a graphics page): registers it, enables refresh
    onRefresh: null,        // onRefresh(event, client) instead of location.reload() (tests, hosts)
    versionTimeoutMs: 2000, // how long the first connection waits for /overlays/version.json
    render: null,           // render(state, batch, client): once per frame after events
    onStatus: null,         // onStatus(status, client): connection changes
    onEvent: null,          // onEvent(event, client): each accepted event, before reduce
    minDelayMs: 250,        // first retry delay; doubles per failed attempt ...
    maxDelayMs: 5000,       // ... up to this
    healthyAfterMs: 3000,   // a connection open this long resets the back-off
    idleTimeoutMs: 0,       // >0: reconnect when nothing arrives for this long (half-open TCP)
    keepEvents: 20000,      // cap on window.__gavel.events (a long show streams millions of tokens)
    autoStart: true,
    exposeGlobal: true,     // maintain window.__gavel
  };

  class GavelClient {
    constructor(options) {
      const o = Object.assign({}, DEFAULTS, options || {});
      const params = pageParams();
      this.options = o;
      this.channel = o.channel || params.get("channel") || o.defaultChannel;
      this.token = o.token != null ? o.token : params.get("token");
      this.server = o.server || params.get("server") || null;
      this.graphicName = o.graphic || null;
      this.clientId = this.graphicName ? stableClientId(this.graphicName, this.channel) : null;
      this.version = null;     // the overlay files' version, from /overlays/version.json
      this.loadedAt = Date.now();
      this.state = emptyState();
      this.lastSeq = 0;
      this.connected = false;
      this.reconnects = 0;     // connections opened after the first one
      this.status = "idle";    // idle | connecting | open | waiting | closed
      this.onStatus = typeof o.onStatus === "function" ? o.onStatus : null;
      this.render = typeof o.render === "function" ? o.render : null;
      this.onEvent = typeof o.onEvent === "function" ? o.onEvent : null;

      this._ws = null;
      this._attempt = 0;        // failed attempts since the last healthy connection
      this._everOpened = false;
      this._closed = false;     // close() called: stay down
      this._retryTimer = null;
      this._healthyTimer = null;
      this._idleTimer = null;
      this._nextDelay = 0;
      this._batch = [];
      this._raf = null;
      this._fallback = null;
      this._clock = [];         // [{at: clientMs, off: serverMs - clientMs}] recent samples
      this._clockOffset = 0;
      this._onOnline = () => { if (!this.connected && !this._closed) this._connectNow(); };
      this._versionFetch = this.graphicName ? this._fetchVersion() : null;

      this.debug = {
        events: [],
        eventsDropped: 0,
        lastSeq: 0,
        connected: false,
        reconnects: 0,
        channel: this.channel,
        url: null,
        gaps: 0,
        duplicates: 0,
        snapshots: 0,
      };
      // Non-enumerable: keeps JSON.stringify(__gavel) and test serialisation small and acyclic.
      Object.defineProperty(this.debug, "client", { value: this, enumerable: false });
      if (o.exposeGlobal) global.__gavel = this.debug;
      if (global.addEventListener) global.addEventListener("online", this._onOnline);
      if (o.autoStart) this.start();
    }

    // ---- public ---------------------------------------------------------------------------

    start() {
      this._closed = false;
      if (!this._ws && !this._retryTimer) this._connectNow();
      return this;
    }

    // Close for good (CasparCG remove()): no reconnects, no more renders.
    close() {
      this._closed = true;
      this._clearTimers();
      if (global.removeEventListener) global.removeEventListener("online", this._onOnline);
      this._cancelFrame();
      const ws = this._ws;
      this._ws = null;
      if (ws) { this._detach(ws); try { ws.close(1000, "closed by graphic"); } catch (e) { /* ignore */ } }
      this._setConnected(false, "closed");
    }

    // Server wall clock in ms, estimated from event timestamps (see _sampleClock).
    serverNow() {
      return Date.now() + this._clockOffset;
    }

    get clockOffsetMs() { return this._clockOffset; }

    // Which graphics output this page shows: program on the program channel, else preview.
    get output() { return this.channel === "program" ? "program" : "preview"; }

    // A graphic's state on this page's output: {visible, data} (hidden, no data, when unknown).
    graphic(name) {
      const g = ((this.state.graphics || {})[this.output] || {})[name];
      return graphicState(g);
    }

    // http(s) URL of a studio path (plotly, figures, version.json), for pages loaded from disk too.
    httpUrl(path) {
      const srv = this.server;
      const loc = global.location || {};
      if (srv && /^wss?:\/\//i.test(srv)) return srv.replace(/^ws/i, "http").replace(/\/+$/, "") + path;
      if (srv) return `${loc.protocol === "https:" ? "https" : "http"}://${srv}${path}`;
      return `${loc.origin && loc.origin !== "null" ? loc.origin : ""}${path}`;
    }

    url() {
      let base;
      const srv = this.server;
      if (srv && /^wss?:\/\//i.test(srv)) base = srv.replace(/\/+$/, "");
      else {
        const loc = global.location || {};
        const proto = loc.protocol === "https:" ? "wss" : "ws";
        base = `${proto}://${srv || loc.host}`;
      }
      let u = `${base}/ws/${encodeURIComponent(this.channel)}?since=${this.lastSeq}`;
      if (this.token) u += `&token=${encodeURIComponent(this.token)}`;
      if (this.graphicName) {
        u += `&graphic=${encodeURIComponent(this.graphicName)}&version=${encodeURIComponent(this.version || "")}`;
        u += `&client=${encodeURIComponent(this.clientId)}`;
      }
      return u;
    }

    // ---- graphics pages: version and refresh ------------------------------------------------

    // The version of the overlay files this page was loaded with: fetched once, at load. If the
    // studio cannot be asked then (not up yet; a page from disk, where the browser blocks the
    // cross-origin read) the page connects with an empty version, which the panel shows as
    // stale, and asks again before its next connection.
    _fetchVersion() {
      if (typeof global.fetch !== "function") { this.version = ""; return Promise.resolve(); }
      const abort = typeof AbortController === "function" ? new AbortController() : null;
      const timer = setTimeout(() => abort && abort.abort(), this.options.versionTimeoutMs);
      return global.fetch(this.httpUrl("/overlays/version.json"), { cache: "no-store", signal: abort && abort.signal })
        .then((r) => (r.ok ? r.json() : null))
        .then((body) => { if (body && typeof body.version === "string") this.version = body.version; })
        .catch(() => {})
        .finally(() => { clearTimeout(timer); this._versionFetch = null; });
    }

    /*
     * A refresh reloads the page when it is aimed at it and is news: published after this page
     * loaded (a replay on connect brings back old ones), and not the one that caused this load
     * (its ts is kept in sessionStorage), so a refresh can never make a page reload in a loop.
     * "After this page loaded" compares the event's ts with the page's own clock: event ts alone
     * cannot tell a replayed refresh from a live one. A page clock off by D seconds can ignore a
     * refresh in its first D seconds (fast clock) or reload once more (slow clock); no worse.
     */
    _maybeRefresh(ev) {
      const target = isObject(ev.data) ? ev.data.target : null;
      if (!this.graphicName || ![ "all", this.graphicName, this.clientId ].includes(target)) return;
      const key = `gavel.refreshed.${this.clientId}`;
      const handled = Number(storage("get", key)) || 0;
      if (typeof ev.ts !== "number" || ev.ts * 1000 < this.loadedAt || ev.ts <= handled) return;
      storage("set", key, String(ev.ts));
      if (this.options.onRefresh) this.options.onRefresh(ev, this);
      else if (global.location) global.location.reload();
    }

    // ---- connection -------------------------------------------------------------------------

    _connectNow() {
      if (this._closed) return;
      this._retryTimer = null;
      if (this.graphicName && this.version === null) {
        // Say which files this page runs: wait (briefly) for the version before dialling.
        this._setStatus("connecting");
        if (!this._versionFetch) this._versionFetch = this._fetchVersion();
        const fetching = this._versionFetch;
        fetching.then(() => { if (!this._ws && !this._retryTimer) this._dial(); });
        return;
      }
      this._dial();
    }

    _dial() {
      if (this._closed || this._ws) return;
      this._retryTimer = null;
      const url = this.url();
      this.debug.url = url;
      this._setStatus("connecting");
      let ws;
      try {
        ws = new WebSocket(url);
      } catch (e) {
        this._scheduleReconnect();
        return;
      }
      this._ws = ws;
      ws.onopen = () => {
        if (ws !== this._ws) return;
        if (this._everOpened) { this.reconnects += 1; this.debug.reconnects = this.reconnects; }
        this._everOpened = true;
        this._setConnected(true, "open");
        clearTimeout(this._healthyTimer);
        this._healthyTimer = setTimeout(() => { this._attempt = 0; }, this.options.healthyAfterMs);
        this._armIdle();
      };
      ws.onmessage = (msg) => {
        if (ws !== this._ws) return;
        this._armIdle();
        if (typeof msg.data !== "string") return; // binary frames are not part of the protocol
        let parsed;
        try { parsed = JSON.parse(msg.data); } catch (e) { return; }
        const list = Array.isArray(parsed) ? parsed : [parsed];
        for (const ev of list) {
          if (!this._accept(ev)) break; // a gap: the socket is being recycled
        }
      };
      ws.onerror = () => { /* onclose follows */ };
      ws.onclose = () => {
        if (ws !== this._ws) return;
        this._ws = null;
        this._scheduleReconnect();
      };
    }

    _detach(ws) {
      ws.onopen = ws.onmessage = ws.onerror = ws.onclose = null;
    }

    // Drop the current socket and dial again with since=lastSeq.
    _recycle() {
      const ws = this._ws;
      this._ws = null;
      if (ws) { this._detach(ws); try { ws.close(4000, "resync"); } catch (e) { /* ignore */ } }
      this._scheduleReconnect();
    }

    _scheduleReconnect() {
      clearTimeout(this._healthyTimer);
      clearTimeout(this._idleTimer);
      this._healthyTimer = this._idleTimer = null;
      if (this._closed) { this._setConnected(false, "closed"); return; }
      const o = this.options;
      const cap = Math.min(o.maxDelayMs, o.minDelayMs * Math.pow(2, this._attempt));
      // Jitter in [cap/2, cap]: spreads a studio restart's reconnect storm, never waits ~0.
      const delay = Math.round(cap / 2 + Math.random() * cap / 2);
      this._attempt = Math.min(this._attempt + 1, 30);
      this._nextDelay = delay;
      clearTimeout(this._retryTimer);
      this._retryTimer = setTimeout(() => this._connectNow(), delay);
      this._setConnected(false, "waiting");
    }

    _armIdle() {
      const ms = this.options.idleTimeoutMs;
      if (!ms) return;
      clearTimeout(this._idleTimer);
      this._idleTimer = setTimeout(() => this._recycle(), ms);
    }

    _clearTimers() {
      clearTimeout(this._retryTimer);
      clearTimeout(this._healthyTimer);
      clearTimeout(this._idleTimer);
      this._retryTimer = this._healthyTimer = this._idleTimer = null;
    }

    _setConnected(connected, status) {
      const changed = connected !== this.connected || status !== this.status;
      this.connected = connected;
      this.debug.connected = connected;
      this.status = status;
      if (changed) this._emitStatus();
    }

    _setStatus(status) {
      if (status === this.status) return;
      this.status = status;
      this._emitStatus();
    }

    _emitStatus() {
      if (!this.onStatus) return;
      try {
        this.onStatus({
          status: this.status,
          connected: this.connected,
          lastSeq: this.lastSeq,
          reconnects: this.reconnects,
          retryInMs: this.status === "waiting" ? this._nextDelay : 0,
          channel: this.channel,
        }, this);
      } catch (e) {
        if (global.console) console.error("gavel onStatus failed", e);
      }
    }

    // ---- events -------------------------------------------------------------------------------

    // Returns false when the socket was recycled (stop processing the rest of the frame).
    _accept(ev) {
      if (!isObject(ev) || typeof ev.type !== "string" || !Number.isInteger(ev.seq)) return true;
      if (ev.type === "snapshot") {
        this.debug.snapshots += 1;
      } else if (ev.seq <= this.lastSeq) {
        this.debug.duplicates += 1;
        return true;
      } else if (ev.seq > this.lastSeq + 1) {
        this.debug.gaps += 1;
        this._recycle();
        return false;
      }
      this.lastSeq = ev.seq;
      this.debug.lastSeq = ev.seq;
      this._sampleClock(ev);
      const events = this.debug.events;
      events.push(ev);
      if (events.length > this.options.keepEvents) {
        const drop = events.length - this.options.keepEvents;
        events.splice(0, drop);
        this.debug.eventsDropped += drop;
      }
      if (this.onEvent) {
        try { this.onEvent(ev, this); } catch (e) { if (global.console) console.error("gavel onEvent failed", e); }
      }
      try {
        this.state = reduce(this.state, ev);
      } catch (e) {
        if (global.console) console.error("gavel reducer failed on", ev, e);
      }
      if (ev.type === "graphics.refresh") {
        try { this._maybeRefresh(ev); } catch (e) { if (global.console) console.error("gavel refresh failed", e); }
      }
      this._batch.push(ev);
      this._requestFrame();
      return true;
    }

    /*
     * Server clock offset. For each event, ts is the server's clock when it was published and
     * the receipt time is later by the delivery delay, so ts - receipt is a lower bound of
     * (server - client). The largest such bound over a recent window is the best estimate: live
     * events arrive within milliseconds, while replayed ones (old ts) only pull the bound down
     * and are therefore ignored by the max. The window lets a server clock step be followed.
     */
    _sampleClock(ev) {
      if (typeof ev.ts !== "number" || !isFinite(ev.ts)) return;
      const now = Date.now();
      const off = ev.ts * 1000 - now;
      const samples = this._clock;
      samples.push({ at: now, off });
      const horizon = now - 120000;
      while (samples.length > 1 && (samples[0].at < horizon || samples.length > 512)) samples.shift();
      let best = -Infinity;
      for (const s of samples) if (s.off > best) best = s.off;
      this._clockOffset = best;
    }

    // ---- render batching --------------------------------------------------------------------

    _requestFrame() {
      if (this._raf !== null || this._fallback !== null || this._closed) return;
      const flush = () => this._flush();
      if (typeof global.requestAnimationFrame === "function") this._raf = global.requestAnimationFrame(flush);
      // rAF is paused in hidden pages; a timer keeps state (and tests) moving regardless.
      this._fallback = setTimeout(flush, 250);
    }

    _cancelFrame() {
      if (this._raf !== null && typeof global.cancelAnimationFrame === "function") global.cancelAnimationFrame(this._raf);
      clearTimeout(this._fallback);
      this._raf = this._fallback = null;
    }

    _flush() {
      this._cancelFrame();
      const batch = this._batch;
      this._batch = [];
      if (!this.render || this._closed) return;
      try {
        this.render(this.state, batch, this);
      } catch (e) {
        if (global.console) console.error("gavel render failed", e);
      }
    }
  }

  GavelClient.EVENT_TYPES = EVENT_TYPES;
  GavelClient.reduce = reduce;
  GavelClient.emptyState = emptyState;
  GavelClient.normalizeState = normalizeState;
  GavelClient.graphicState = graphicState;

  global.GavelClient = GavelClient;
  if (typeof module !== "undefined" && module.exports) module.exports = GavelClient;
})(typeof window !== "undefined" ? window : globalThis);
