/*
 * gavel-ui.js: what every on-air graphics page shares: the page contract and small DOM helpers.
 * Load after gavel-client.js; defines window.GavelUI.
 *
 * GavelUI.mount({graphic, draw, next, onUpdate, root}) runs one graphics page:
 * - its GavelClient (channel from ?channel=, default program), registered as `graphic`;
 * - visibility: the root (#stage) gets class "on" iff the server's graphics state for this page's
 *   output says visible, and, with ?manual=1 (CasparCG), only between play() and stop().
 *   graphics.cleared (panic) hides it at once, without the out-transition;
 * - data: draw({state, data, batch, client, page}) gets the graphic's server data with the
 *   operator's update() data merged over it (a key updated to null drops the override);
 * - template calls as globals (CasparCG) and as postMessage from the parent frame (the OGraf
 *   host): update(data), play(), stop(), next(), remove(); window.gavelGraphic is the page;
 * - the output indicator (PREVIEW/PROGRAM, on/off, connection) on preview and director, or with
 *   ?debug=1; never on program otherwise;
 * - the fixed 1920x1080 canvas scaled to the window.
 * Model and viewer text only ever enters the page through textContent: use el()/setText().
 */
(function (global) {
  "use strict";

  const CANVAS_W = 1920;
  const CANVAS_H = 1080;
  const params = new URLSearchParams(global.location ? global.location.search : "");
  const flag = (name) => ["1", "true", "yes", "on"].includes((params.get(name) || "").toLowerCase());

  // ---- DOM helpers (text only ever through textContent) ------------------------------------------

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

  const humanize = (kind) => (typeof kind === "string" ? kind.replace(/[_-]+/g, " ").trim() : "");
  const str = (v) => (v == null ? "" : String(v));

  function shorten(s, n) {
    s = String(s);
    return s.length > n ? s.slice(0, n - 1) + "…" : s;
  }

  function fmtSeconds(s) {
    if (typeof s !== "number" || !isFinite(s) || s < 0) return "—";
    return s < 10 ? s.toFixed(2) : s.toFixed(1);
  }

  function fmtNumber(n) {
    if (typeof n !== "number" || !isFinite(n)) return "—";
    return Number.isInteger(n) ? n.toLocaleString("en-US") : n.toFixed(1);
  }

  // ---- the show's language (core/locale.py) ------------------------------------------------------
  // Fixed text comes from the message table show.opened carries (state.show.messages); none is
  // written in the pages' code. Markup names its text's key in a data-i18n attribute.

  function t(state, key, params) {
    const table = state && state.show && state.show.messages;
    const template = table && typeof table[key] === "string" ? table[key] : null;
    if (template == null) return "";
    return template.replace(/\{(\w+)\}/g, (m, name) => (params && params[name] != null ? String(params[name]) : ""));
  }

  // A count's text: `key` itself, or `key_one` (where the table has it) when the count is 1.
  function plural(state, key, count, params) {
    const table = state && state.show && state.show.messages;
    const one = count === 1 && table && typeof table[`${key}_one`] === "string" ? `${key}_one` : key;
    return t(state, one, Object.assign({ count }, params));
  }

  // A word from the studio's own small vocabularies (a dimension, a colour, "warm"): its entry
  // under `prefix` (spaces and dashes as "_"), else the word as it came.
  function word(state, prefix, value) {
    const w = str(value);
    return (w && t(state, prefix + w.toLowerCase().replace(/[\s-]+/g, "_"))) || w;
  }

  let localized = null; // the table last applied to the markup
  function localize(root, state) {
    const table = state && state.show && state.show.messages;
    if (!table || table === localized) return;
    localized = table;
    document.documentElement.lang = state.show.locale || "en";
    for (const node of root.querySelectorAll("[data-i18n]")) setText(node, t(state, node.dataset.i18n));
  }

  const contestant = (state, id) => state.contestants.find((c) => c.id === id) || null;

  // A contestant's colour slot (gavel.css [data-slot]): its place in the show, 4 colours round.
  function slot(state, id) {
    const i = state.contestants.findIndex((c) => c.id === id);
    return i < 0 ? "" : String(i % 4);
  }

  function currentStage(state) {
    if (state.current_stage == null) return null;
    return state.stages.find((s) => s.index === state.current_stage) || null;
  }

  // Scoreboard rows, best first: most correct, then accuracy, then the faster median end-to-end.
  function rankRows(rows) {
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

  // update() takes an object, a JSON string or CasparCG <templateData> XML.
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

  // The layout is a fixed 1920x1080 canvas fitted to the window.
  function fitCanvas(root) {
    const fit = () => {
      const s = Math.min((global.innerWidth || CANVAS_W) / CANVAS_W, (global.innerHeight || CANVAS_H) / CANVAS_H);
      root.style.transform = Math.abs(s - 1) < 1e-3 ? "" : `scale(${s})`;
    };
    global.addEventListener("resize", fit);
    fit();
  }

  // ---- the page contract ---------------------------------------------------------------------------

  function mount(o) {
    const root = o.root || document.getElementById("stage");
    const manual = flag("manual");
    const operator = {};
    const timers = [];
    let played = !manual;
    let removed = false;
    let conn = null;
    let status = null;

    const client = new global.GavelClient({
      graphic: o.graphic,
      defaultChannel: "program",
      autoStart: false,
      onEvent: (ev) => {
        if (ev.type === "graphics.cleared") { // panic: off now, not at the next frame, no fade
          root.classList.add("cut");
          root.classList.remove("on");
        }
      },
      render: (state, batch) => redraw(batch),
      onStatus: (st) => { status = st; drawIndicator(); },
    });

    const page = {
      client,
      root,
      graphic: o.graphic,
      manual,
      get visible() { return root.classList.contains("on"); },
      get data() { return Object.assign({}, client.graphic(o.graphic).data, operator); },
      update(raw) {
        const d = parseUpdate(raw);
        for (const [k, v] of Object.entries(d)) {
          if (v === null) delete operator[k];
          else operator[k] = v;
        }
        if (o.onUpdate) o.onUpdate(d);
        redraw([]);
      },
      play() { if (!removed) { played = true; redraw([]); } },
      stop() { played = false; redraw([]); },
      next() { if (!removed && o.next) { o.next(page); redraw([]); } },
      remove() {
        removed = true;
        timers.forEach(clearInterval);
        client.close();
        root.classList.remove("on");
      },
      every(ms, fn) { timers.push(setInterval(fn, ms)); },
      redraw: () => redraw([]),
    };

    function redraw(batch) {
      if (removed) return;
      const shown = client.graphic(o.graphic).visible && played;
      if (shown) root.classList.remove("cut");
      toggle(root, "on", shown);
      root.dataset.visible = String(shown);
      try {
        localize(document, client.state);
        o.draw({ state: client.state, data: page.data, batch, client, page });
      } catch (e) {
        if (global.console) console.error(`gavel ${o.graphic} draw failed`, e);
      }
      drawIndicator();
    }

    function drawIndicator() {
      if (!conn || !status) return;
      conn.className = status.connected ? "conn up" : "conn";
      const state = status.connected ? `LIVE · seq ${client.lastSeq}` : status.status === "connecting" ? "CONNECTING" : "RECONNECTING";
      const onAir = root.classList.contains("on") ? "ON" : "OFF";
      setText(conn, `${client.output.toUpperCase()} · ${o.graphic} · ${onAir} · ${state}`);
    }

    if (flag("debug") || client.channel !== "program") {
      conn = el("div", "conn");
      conn.dataset.testid = "output-indicator";
      root.append(conn);
    }
    fitCanvas(root);
    for (const name of ["update", "play", "stop", "next", "remove"]) global[name] = page[name];
    global.gavelGraphic = page;
    // An OGraf host that cannot call into this frame (another origin) posts messages; only the
    // embedding parent is listened to.
    global.addEventListener("message", (e) => {
      if (e.source !== global.parent || e.source === global) return;
      const m = e.data;
      if (m && typeof m === "object" && ["update", "play", "stop", "next", "remove"].includes(m.gavel)) page[m.gavel](m.data);
    });
    redraw([]);
    client.start();
    return page;
  }

  global.GavelUI = {
    mount, el, setText, toggle, humanize, str, t, plural, word, localize, shorten, fmtSeconds, fmtNumber, contestant, slot, currentStage,
    rankRows, parseUpdate, flag, params,
  };
})(typeof window !== "undefined" ? window : globalThis);
