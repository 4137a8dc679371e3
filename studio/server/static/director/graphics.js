/*
 * director/graphics.js: every graphic's state on PREVIEW and PROGRAM side by side (the rows TAKE
 * would change are marked), cue on / off and the data editor, TAKE and PANIC, and the registry of
 * connected graphics pages (stale versions flagged, REFRESH one or all).
 *
 * One of the director panel's scripts (studio/server/static/director/, see panel.js): plain
 * ES2020, sharing the page's global scope; it only declares, and main.js starts the panel.
 */
"use strict";

// GRAPHICS-MIRROR: core/graphics.py GRAPHICS, name -> what it shows, in the same order.
// tests/test_director_panel_link.py checks that the two agree. Graphics the studio reports that are
// not listed here still get a row (flagged), so the panel never hides what is on air.
const KNOWN_GRAPHICS = Object.freeze({
  "duel": "token duel: answers streaming side by side, with the scoreboard",
  "question": "question card with the server-clock countdown",
  "radar": "latency and accuracy radar per contestant (plotly)",
  "leaderboard": "leaderboard with animated rank changes",
  "lower_third": "contestant name, team, base model, adapter",
  "title_card": "stage title card",
  "vote_bars": "live vote tallies",
  "image_poem": "the picture, how the models saw it, the poems streaming and their form checks",
  "subtitles": "live subtitles: source line, each contestant's translation and lag, the final lag table",
  "path": "generation path: the answer's tokens, close calls, the alternatives at a token (logprobs)",
  "attention": "attention heatmap of an answer: which words it looked at (plotly)",
  "training": "training board: each contestant's ms-swift job (step, loss, ETA, end) and qualification score",
  "end_card": "closing card: the show's title, tonight's winner and team, the final standings",
});

function graphicNames(state) {
  const g = graphicsOf(state);
  const names = Object.keys(KNOWN_GRAPHICS);
  for (const n of [...Object.keys(g.preview), ...Object.keys(g.program)]) if (!names.includes(n)) names.push(n);
  return names;
}

function normGraphic(g) {
  return { visible: !!(g && g.visible), data: g && isObject(g.data) ? g.data : {} };
}

function renderGraphics(state) {
  const g = graphicsOf(state);
  const names = graphicNames(state);
  let changes = 0;
  syncKeyed($("gfx").tBodies[0], names, (name) => {
    const tr = el("tr", { "data-testid": `graphic-${name}` }, [
      el("td", {}, [el("kbd")]),
      el("td", {}, [el("div", { class: "gname" }), el("div", { class: "gdesc" })]),
      el("td", {}, [el("div", { class: "cell" }, [el("span", { class: "tally pvw" }), el("span", { class: "data", "data-testid": `pvw-data-${name}` })])]),
      el("td", {}, [el("div", { class: "cell" }, [el("span", { class: "tally pgm" }), el("span", { class: "data", "data-testid": `pgm-data-${name}` })])]),
      el("td", {}, [el("div", { class: "acts" }, [
        el("button", { type: "button", class: "mini on", "data-control": "", "data-testid": `cue-on-${name}`, text: "ON" }),
        el("button", { type: "button", class: "mini off", "data-control": "", "data-testid": `cue-off-${name}`, text: "OFF" }),
        el("button", { type: "button", class: "mini", "data-control": "", "data-testid": `edit-${name}`, text: "DATA…" }),
      ])]),
    ]);
    const [on, off, edit] = tr.querySelectorAll("button");
    on.addEventListener("click", guard(() => actions.cue(name, true)));
    off.addEventListener("click", guard(() => actions.cue(name, false)));
    edit.addEventListener("click", guard(() => openEditor(name)));
    return tr;
  }, (tr, name) => {
    const i = names.indexOf(name);
    const pv = normGraphic(g.preview[name]), pg = normGraphic(g.program[name]);
    const diff = json(pv) !== json(pg);
    if (diff) changes++;
    setData(tr, "known", name in KNOWN_GRAPHICS);
    setData(tr, "diff", diff);
    setData(tr, "preview", pv.visible ? "on" : "off");
    setData(tr, "program", pg.visible ? "on" : "off");
    setText(tr.querySelector("kbd"), i < 9 ? String(i + 1) : "");
    setText(tr.querySelector(".gname"), name);
    const desc = KNOWN_GRAPHICS[name] || "";
    setText(tr.querySelector(".gdesc"), desc);
    tr.querySelector(".gdesc").title = desc;
    const [pvTally, pgTally] = tr.querySelectorAll(".tally");
    setData(pvTally, "on", pv.visible);
    setText(pvTally, pv.visible ? "ON" : name in g.preview ? "off" : "—");
    setData(pgTally, "on", pg.visible);
    setText(pgTally, pg.visible ? "ON AIR" : name in g.program ? "off" : "—");
    const [pvData, pgData] = tr.querySelectorAll(".data");
    const pvText = Object.keys(pv.data).length ? json(pv.data) : "", pgText = Object.keys(pg.data).length ? json(pg.data) : "";
    setText(pvData, pvText); pvData.title = pvText;
    setText(pgData, pgText); pgData.title = pgText;
    const [on, off] = tr.querySelectorAll("button");
    setData(on, "pending", pendingOf("cue", (e) => e.args.graphic === name && e.args.visible));
    setData(off, "pending", pendingOf("cue", (e) => e.args.graphic === name && !e.args.visible));
  });
  const take = $("btn-take");
  setData(take, "changes", changes);
  setData(take, "pending", pendingOf("take"));
  setText($("take-sub"), changes ? `Space · ${changes} change${changes > 1 ? "s" : ""} go to air` : "Space · program already = preview");
  setData($("btn-panic"), "pending", pendingOf("panic"));
}

function renderClients(state) {
  const clients = clientsOf(state);
  const ids = Object.keys(clients).sort((a, b) => (clients[a].graphic + a).localeCompare(clients[b].graphic + b));
  $("clients-empty").hidden = ids.length > 0;
  setText($("overlay-version"), ui.overlayVersion ? `studio serves v${ui.overlayVersion}` : "");
  syncKeyed($("clients").tBodies[0], ids, (id) => {
    const btn = el("button", { type: "button", class: "mini", "data-control": "", "data-testid": `refresh-${id}`, text: "REFRESH" });
    btn.addEventListener("click", (e) => { e.preventDefault(); if (!canOperate()) { flash("LOCKED — nothing was sent"); return; } actions.refresh(id); });
    return el("tr", { "data-testid": `client-${id}` }, [el("td"), el("td"), el("td"), el("td"), el("td", {}, [btn])]);
  }, (tr, id) => {
    const c = clients[id];
    const cells = tr.children;
    setText(cells[0], c.graphic);
    setText(cells[1], c.channel);
    setData(tr, "stale", !!c.stale);
    const ver = cells[2];
    const sig = `${c.version}|${c.stale}`;
    if (ver.dataset.sig !== sig) {
      ver.dataset.sig = sig;
      ver.replaceChildren(el("span", { text: c.version || "(none)" }), " ", c.stale ? el("span", { class: "stale", text: "STALE" }) : el("span", { class: "fresh", text: "current" }));
    }
    setText(cells[3], id);
    setData(cells[4].firstChild, "pending", pendingOf("refresh", (e) => e.args.target === id));
  });
}

// Data editor
function openEditor(name) {
  const g = graphicsOf(ui.client.state);
  const current = g.preview[name] || g.program[name] || { data: {} };
  ui.editing = name;
  setText($("editor-title"), `Data for ${name}`);
  $("editor-text").value = JSON.stringify(isObject(current.data) ? current.data : {}, null, 2);
  setText($("editor-err"), "");
  $("editor").hidden = false;
  $("editor-text").focus();
}
function closeEditor() { ui.editing = null; $("editor").hidden = true; }

// TAKE, PANIC, REFRESH ALL and the data editor.
function wireGraphics() {
  onClick("btn-take", () => actions.take());
  onClick("btn-panic", () => actions.panic());
  onClick("btn-refresh-all", () => armOrFire("btn-refresh-all", "refresh", { target: "all" }, "CLICK REFRESH ALL AGAIN WITHIN 2 s TO RELOAD EVERY GRAPHICS PAGE (ON AIR TOO)"));
  $("editor-cancel").addEventListener("click", closeEditor);
  onClick("editor-cue", () => {
    let data;
    try { data = JSON.parse($("editor-text").value || "{}"); } catch (err) { setText($("editor-err"), "not JSON: " + err.message); return; }
    if (!isObject(data)) { setText($("editor-err"), "data must be a JSON object"); return; }
    actions.cue(ui.editing, true, data);
    closeEditor();
  });
}
