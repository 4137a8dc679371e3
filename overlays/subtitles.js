/*
 * subtitles.js: the live subtitles graphic (subtitles.html), graphic name "subtitles".
 *
 * Source: state.subtitles (subtitle.started + lines [{line, t, text, shown_ts, origin,
 * translations: {contestant: {text, status, reason, lag_s, ttft_lag_s, waited_s}}}] + summary).
 * - The source line: the latest line shown, with its language.
 * - One row per contestant (subtitle.started's contestants): the line it is working on (the first
 *   one it has not finished; the latest line once it has finished them all), its translation
 *   streaming in, and a lag badge: counting up from the line's shown_ts on the server clock while
 *   the translation is under way, the final lag_s once done, "DNF · timeout" (or the reason) for a
 *   line it did not finish. A contestant still on an earlier line than the latest is marked
 *   "k lines behind".
 * - Once the stage's final subtitle.summary arrives: a table of each contestant's median and p90
 *   lag, lines done and DNFs.
 * Data fields (cue data or update()): title (the kicker; default the stage's title),
 * show_summary (default true: the final table). No steps.
 * Model and script text only ever enters the page through textContent.
 */
(function () {
  "use strict";

  const { el, setText, toggle, str, t, plural, slot, shorten } = window.GavelUI;
  const root = document.getElementById("stage");
  const q = (id) => root.querySelector(`[data-testid="${id}"]`);
  const parts = {
    box: q("subtitles"), title: q("sb-title"), langs: q("sb-langs"), progress: q("sb-progress"),
    lang: q("sb-source-lang"), source: q("sb-source-text"), rows: q("sb-rows"),
    summary: q("sb-summary"), table: q("sb-table-rows"),
  };
  const rows = new Map(); // contestant -> its row's elements
  const sumRows = new Map(); // contestant -> its summary table row
  let counting = false; // some lag badge counts up: redraw between events
  // Translations the director dumped ("<question_id>:<contestant>"): the state keeps a subtitle's
  // text after an answer.dumped for its line, so this page blanks it itself.
  const dumped = new Set();

  function noteDumps(batch) {
    for (const e of batch || []) {
      if (e && e.type === "answer.dumped" && e.data && typeof e.data.question_id === "string") {
        dumped.add(`${e.data.question_id}:${str(e.data.contestant)}`);
      }
    }
  }

  const isNum = (v) => typeof v === "number" && isFinite(v);
  const clock = (t) => {
    const tenths = Math.floor(Math.max(0, t) * 10);
    return `${Math.floor(tenths / 600)}:${((tenths % 600) / 10).toFixed(1).padStart(4, "0")}`;
  };
  const secs = (s) => (isNum(s) && s >= 0 ? `${s < 10 ? s.toFixed(2) : s.toFixed(1)} s` : "—");

  function row(id) {
    let r = rows.get(id);
    if (!r) {
      const li = el("li", "sb-row");
      li.dataset.testid = `sb-row-${id}`;
      li.dataset.contestant = id;
      const name = el("span", "sb-name");
      name.dataset.testid = `sb-name-${id}`;
      const lang = el("span", "sb-lang sb-target");
      const clip = el("div", "sb-clip");
      const text = el("span", "sb-text");
      text.dataset.testid = `sb-text-${id}`;
      clip.append(text);
      const behind = el("span", "sb-behind is-empty");
      behind.dataset.testid = `sb-behind-${id}`;
      const lag = el("span", "sb-lag");
      lag.dataset.testid = `sb-lag-${id}`;
      li.append(name, lang, clip, behind, lag);
      r = { li, name, lang, text, behind, lag };
      rows.set(id, r);
    }
    return r;
  }

  function dnfWords(state, tr) {
    if (tr.status === "timeout") return t(state, "status.dnf_timeout");
    if (tr.status === "cancelled") return t(state, "status.stopped");
    const reason = str(tr.reason);
    return reason ? t(state, "status.dnf_reason", { reason: shorten(reason, 28) }) : t(state, "status.dnf");
  }

  // What one contestant's row shows: the first line it has not finished, else the latest.
  function rowView(lines, id) {
    const latest = lines.length - 1;
    for (let i = 0; i <= latest; i++) {
      const tr = lines[i].translations ? lines[i].translations[id] : null;
      if (!tr || tr.status === "streaming") return { index: i, line: lines[i], tr: tr || null, working: true, behind: latest - i };
    }
    const line = lines[latest];
    return { index: latest, line, tr: line.translations[id], working: false, behind: 0 };
  }

  function drawRows(state, sub, client) {
    const lines = Array.isArray(sub.lines) ? sub.lines.filter((l) => l && typeof l === "object") : [];
    const ids = Array.isArray(sub.contestants) ? sub.contestants.map(str) : [];
    const keep = new Set();
    const nowS = client ? client.serverNow() / 1000 : Date.now() / 1000;
    counting = false;
    ids.forEach((id, i) => {
      const r = row(id);
      keep.add(id);
      const c = window.GavelUI.contestant(state, id);
      r.li.dataset.slot = slot(state, id);
      setText(r.name, c && c.name ? c.name : id);
      setText(r.lang, str(sub.target_lang));
      if (!lines.length) {
        setText(r.text, "");
        r.li.dataset.status = "waiting";
        r.li.dataset.line = "";
        setText(r.lag, "");
        toggle(r.lag, "is-empty", true);
        toggle(r.behind, "is-empty", true);
      } else {
        const v = rowView(lines, id);
        const gone = dumped.has(`${str(v.line.question_id)}:${id}`);
        r.li.dataset.line = String(v.index);
        setText(r.text, v.tr && !gone ? str(v.tr.text) : "");
        toggle(r.text, "streaming", v.working);
        setText(r.behind, v.behind > 0 ? plural(state, "sub.behind", v.behind) : "");
        toggle(r.behind, "is-empty", v.behind <= 0);
        r.li.dataset.behind = String(v.behind);
        toggle(r.lag, "is-empty", false);
        r.lag.className = "sb-lag";
        r.lag.title = "";
        if (gone) {
          r.li.dataset.status = "dumped";
          setText(r.lag, t(state, "status.removed"));
          r.lag.classList.add("dnf");
          r.lag.dataset.lag = "";
        } else if (v.working) {
          const shown = isNum(v.line.shown_ts) ? v.line.shown_ts : null;
          const lag = shown != null ? Math.max(0, nowS - shown) : null;
          r.li.dataset.status = v.tr ? "streaming" : "waiting";
          setText(r.lag, lag != null ? `+${lag.toFixed(1)} s` : "…");
          r.lag.classList.add("live");
          r.lag.dataset.lag = lag != null ? lag.toFixed(2) : "";
          counting = true;
        } else if (v.tr.status === "done") {
          r.li.dataset.status = "done";
          setText(r.lag, secs(v.tr.lag_s));
          r.lag.classList.add("done");
          r.lag.dataset.lag = isNum(v.tr.lag_s) ? String(v.tr.lag_s) : "";
        } else {
          r.li.dataset.status = str(v.tr.status);
          setText(r.lag, dnfWords(state, v.tr));
          r.lag.classList.add("dnf");
          r.lag.dataset.lag = "";
          if (v.tr.reason) r.lag.title = str(v.tr.reason);
        }
      }
      if (parts.rows.children[i] !== r.li) parts.rows.insertBefore(r.li, parts.rows.children[i] || null);
    });
    for (const [id, r] of rows) if (!keep.has(id)) { r.li.remove(); rows.delete(id); }
  }

  function drawSummary(state, sub, data) {
    const summary = sub && sub.summary && typeof sub.summary === "object" ? sub.summary : null;
    const show = Boolean(summary && summary.final === true) && data.show_summary !== false;
    toggle(parts.summary, "is-empty", !show);
    const list = show && Array.isArray(summary.rows) ? summary.rows.filter((r) => r && typeof r === "object") : [];
    const keep = new Set();
    list.forEach((s, i) => {
      const id = str(s.contestant);
      keep.add(id);
      let tr = sumRows.get(id);
      if (!tr) {
        tr = el("tr", "sb-sum-row");
        tr.dataset.testid = `sb-sum-${id}`;
        tr.dataset.contestant = id;
        for (const cls of ["sb-sum-name", "sb-sum-median", "sb-sum-p90", "sb-sum-done", "sb-sum-dnf"]) tr.append(el("td", cls));
        sumRows.set(id, tr);
      }
      const c = window.GavelUI.contestant(state, id);
      tr.dataset.slot = slot(state, id);
      setText(tr.children[0], c && c.name ? c.name : id);
      setText(tr.children[1], secs(s.lag_median_s));
      setText(tr.children[2], secs(s.lag_p90_s));
      setText(tr.children[3], `${str(s.done)}/${str(s.lines)}`);
      setText(tr.children[4], str(s.dnf));
      toggle(tr.children[4], "has-dnf", isNum(s.dnf) && s.dnf > 0);
      if (parts.table.children[i] !== tr) parts.table.insertBefore(tr, parts.table.children[i] || null);
    });
    for (const [id, tr] of sumRows) if (!keep.has(id)) { tr.remove(); sumRows.delete(id); }
  }

  function draw({ state, data, batch, client }) {
    noteDumps(batch);
    const sub = state.subtitles && typeof state.subtitles === "object" ? state.subtitles : null;
    const stage = sub ? state.stages.find((s) => s.index === sub.stage) : null;
    const title = data.title != null && str(data.title) ? str(data.title) : (sub && str(sub.title)) || (stage && stage.title) || t(state, "stage.kind.subtitles");
    setText(parts.title, title);
    setText(parts.langs, sub ? `${str(sub.source_lang)} → ${str(sub.target_lang)}` : "");
    const lines = sub && Array.isArray(sub.lines) ? sub.lines.filter((l) => l && typeof l === "object") : [];
    const latest = lines.length ? lines[lines.length - 1] : null;
    // (subtitle.started's own `lines`, the transcript's length, is replaced by the lines array in
    // the state, so the total is not known here: the count of lines so far and the speech clock.)
    const progress = latest ? `${t(state, "sub.progress", { number: lines.length })}${isNum(latest.t) ? ` · ${clock(latest.t)}` : ""}` : "";
    setText(parts.progress, progress);
    setText(parts.lang, sub ? str(sub.source_lang) : "");
    toggle(parts.lang, "is-empty", !sub);
    setText(parts.source, latest ? str(latest.text) : t(state, "sub.waiting"));
    toggle(parts.source, "waiting", !latest);
    parts.box.dataset.line = latest ? String(latest.line) : "";
    parts.box.dataset.stage = sub ? str(sub.stage) : "";
    if (sub) drawRows(state, sub, client);
    else {
      for (const r of rows.values()) r.li.remove();
      rows.clear();
      counting = false;
    }
    drawSummary(state, sub, data);
  }

  const page = window.GavelUI.mount({ graphic: "subtitles", draw });
  // A lag badge counts up on the server clock between events.
  page.every(100, () => { if (counting) page.redraw(); });
})();
