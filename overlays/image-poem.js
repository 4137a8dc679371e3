/*
 * image-poem.js: the image to poem graphic (image-poem.html), graphic name "image_poem".
 *
 * Sources: state.image_poem (the image.shown event: the picture as a data URI, how the
 * contestants saw it, the classifier's labels and the colour facts, plus forms {contestant:
 * poem.form}) and the poems themselves, state.answers while the question on screen is the
 * picture's (image_poem.question_id).
 * - The picture: only ever a data:image/... URI from the event, set as the <img> src; anything
 *   else (a URL) is not loaded.
 * - The path badge: "The models see the picture" (vlm); "Text models were told:" with the top
 *   labels (percentage bars), the dominant colours (swatches drawn from their names) and the
 *   brightness/contrast/tone words (labels); for a mixed stage, the badge plus one chip per
 *   contestant saying how it saw the picture.
 * - One column per contestant of the stage (image_poem.paths), its poem streaming in, and once
 *   the poem is checked its form badge: "4/4 lines ✓ · rhymes 1–2, 3–4", or ✗ with the notes.
 * Every word of it is the show's language (the message table): the badges and the form check
 * are built here from the poem.form's numbers, the colour and picture words (the studio's own
 * small vocabularies, stages/image_features.py) are looked up, the classifier's labels are shown
 * as they come.
 * Data fields (cue data or update()): title (the kicker; default the stage's title),
 * question (the line under it; default the live question's text). No steps.
 * Everything from a model, the classifier or the script enters the page through textContent.
 */
(function () {
  "use strict";

  const { el, setText, toggle, str, t, plural, word, slot } = window.GavelUI;
  const root = document.getElementById("stage");
  const q = (id) => root.querySelector(`[data-testid="${id}"]`);
  const parts = {
    title: q("ip-title"), question: q("ip-question"), img: q("ip-image"), waiting: q("ip-waiting"),
    path: q("ip-path"), who: q("ip-who"), told: q("ip-told"), labels: q("ip-labels"), colours: q("ip-colours"),
    facts: q("ip-facts"), poems: q("ip-poems"),
  };
  const DATA_URI = /^data:image\/(?:png|jpeg|webp|gif);base64,[A-Za-z0-9+/]+=*$/;
  const MAX_URI = 400_000; // the studio sends at most 200 KB
  const PATHS = new Set(["vlm", "labels", "mixed"]);
  const sees = (state, path) => (path === "vlm" || path === "labels" ? t(state, `poem.sees.${path}`) : "");
  let shownSrc = null;
  const columns = new Map(); // contestant -> its column's elements

  // Swatches: the facts name colours in words ("dark blue", "pale pink", "light grey"); the swatch
  // colour comes from this table, never from the data.
  const BASE = {
    red: [214, 52, 52], orange: [240, 140, 40], yellow: [240, 210, 60], green: [60, 170, 80], teal: [40, 165, 160],
    blue: [55, 110, 215], purple: [135, 80, 205], pink: [230, 105, 170], brown: [130, 85, 45], olive: [125, 120, 40],
    white: [245, 245, 245], black: [18, 18, 20], grey: [128, 128, 128], gray: [128, 128, 128],
  };

  function colourCss(name) {
    const words = str(name).toLowerCase().trim().split(/\s+/);
    const base = BASE[words[words.length - 1]];
    if (!base) return "";
    const mod = words.length > 1 ? words[0] : "";
    let rgb = base;
    if (mod === "dark") rgb = base.map((v) => Math.round(v * 0.5));
    else if (mod === "pale" || mod === "light") rgb = base.map((v) => Math.round(v + (255 - v) * 0.5));
    return `rgb(${rgb.join(", ")})`;
  }

  const pct = (p) => {
    if (typeof p !== "number" || !isFinite(p) || p < 0) return "—";
    const v = p * 100;
    return v > 0 && v < 1 ? "<1%" : `${Math.round(v)}%`;
  };

  // A colour's name in the show's language: "dark blue" is a shade and a colour (both looked up);
  // a name outside the vocabulary stays as it came.
  function colourName(state, name) {
    const words = str(name).toLowerCase().trim().split(/\s+/);
    if (words.length > 2 || !t(state, `colour.${words[words.length - 1]}`)) return str(name);
    const colour = word(state, "colour.", words[words.length - 1]);
    if (words.length === 1) return colour;
    const shade = t(state, `colour.shade.${words[0]}`);
    return shade ? t(state, "colour.shade", { shade, colour }) : str(name);
  }

  function drawPicture(state, ip) {
    const uri = ip && typeof ip.image === "string" && ip.image.length <= MAX_URI && DATA_URI.test(ip.image) ? ip.image : "";
    if (uri !== shownSrc) {
      shownSrc = uri;
      if (uri) parts.img.src = uri;
      else parts.img.removeAttribute("src");
    }
    toggle(parts.img, "is-empty", !uri);
    setText(parts.waiting, ip ? (uri ? "" : t(state, "poem.no_picture")) : t(state, "poem.waiting_picture"));
    toggle(parts.waiting, "is-empty", Boolean(uri));
  }

  function drawTold(state, ip, names) {
    const path = ip && PATHS.has(ip.path) ? ip.path : "";
    root.dataset.path = path;
    setText(parts.path, path ? t(state, `poem.path.${path}`) : "");
    parts.path.className = `ip-path path-${path || "none"}`;
    toggle(parts.path, "is-empty", !path);

    // mixed: who saw it how
    const paths = ip && ip.paths && typeof ip.paths === "object" ? ip.paths : {};
    parts.who.replaceChildren();
    if (path === "mixed") {
      for (const id of names) {
        const chip = el("span", `ip-who-chip path-${paths[id] === "vlm" ? "vlm" : "labels"}`);
        chip.dataset.slot = slot(state, id);
        chip.dataset.testid = `ip-who-${id}`;
        chip.append(el("b", "", nameOf(id)), el("span", "", sees(state, paths[id])));
        parts.who.append(chip);
      }
    }
    toggle(parts.who, "is-empty", path !== "mixed");

    const told = path === "labels" || path === "mixed";
    toggle(parts.told, "is-empty", !told);
    const labels = told && Array.isArray(ip.labels) ? ip.labels.filter((l) => l && typeof l === "object") : [];
    syncList(parts.labels, labels.length, (li, i) => {
      if (!li.firstChild) {
        li.className = "ip-label";
        li.append(el("span", "ip-label-name"), el("span", "ip-label-pct"), el("div", "ip-label-bar"));
        li.lastChild.append(el("i", "ip-label-fill"));
      }
      const l = labels[i];
      li.dataset.testid = `ip-label-${i}`;
      setText(li.children[0], str(l.label));
      setText(li.children[1], pct(l.p));
      const share = typeof l.p === "number" && isFinite(l.p) ? Math.max(0, Math.min(1, l.p)) : 0;
      li.children[2].firstChild.style.width = `${(share * 100).toFixed(1)}%`;
    });
    const facts = told && ip.facts && typeof ip.facts === "object" ? ip.facts : {};
    const colours = Array.isArray(facts.colours) ? facts.colours.filter((c) => c && typeof c === "object") : [];
    syncList(parts.colours, colours.length, (li, i) => {
      if (!li.firstChild) {
        li.className = "ip-colour";
        li.append(el("i", "ip-swatch"), el("span", "ip-colour-name"), el("span", "ip-colour-share"));
      }
      const c = colours[i];
      li.dataset.testid = `ip-colour-${i}`;
      const css = colourCss(c.name);
      li.children[0].style.background = css;
      toggle(li.children[0], "unknown", !css);
      setText(li.children[1], colourName(state, c.name));
      setText(li.children[2], pct(c.share));
    });
    toggle(parts.colours, "is-empty", !colours.length);
    const fact = (w) => word(state, "poem.fact.", w);
    const words = [
      fact(facts.brightness_word),
      facts.contrast_word ? t(state, "poem.contrast", { word: fact(facts.contrast_word) }) : "",
      facts.tone ? t(state, "poem.tone", { word: fact(facts.tone) }) : "",
      fact(facts.orientation),
    ].filter(Boolean);
    setText(parts.facts, words.join(" · "));
    toggle(parts.facts, "is-empty", !words.length);
  }

  // Keep `n` <li> children in `list`, filling each with fill(li, i).
  function syncList(list, n, fill) {
    while (list.children.length > n) list.lastChild.remove();
    while (list.children.length < n) list.append(el("li"));
    for (let i = 0; i < n; i++) fill(list.children[i], i);
  }

  let stateRef = null;
  function nameOf(id) {
    const c = stateRef ? window.GavelUI.contestant(stateRef, id) : null;
    return c && c.name ? c.name : id;
  }

  function column(id) {
    let c = columns.get(id);
    if (!c) {
      const box = el("article", "ip-poem panel");
      box.dataset.testid = `ip-poem-${id}`;
      box.dataset.contestant = id;
      const head = el("header", "ip-poem-head");
      const name = el("span", "ip-poem-name");
      name.dataset.testid = `ip-name-${id}`;
      const path = el("span", "ip-poem-path");
      path.dataset.testid = `ip-poem-path-${id}`;
      head.append(name, path);
      const text = el("div", "ip-poem-text");
      text.dataset.testid = `ip-poem-text-${id}`;
      const status = el("div", "ip-poem-status");
      status.dataset.testid = `ip-poem-status-${id}`;
      const form = el("footer", "ip-form is-empty");
      form.dataset.testid = `ip-form-${id}`;
      const badge = el("span", "ip-form-badge");
      badge.dataset.testid = `ip-form-badge-${id}`;
      const notes = el("span", "ip-form-notes");
      notes.dataset.testid = `ip-form-notes-${id}`;
      form.append(badge, notes);
      box.append(head, text, status, form);
      c = { box, name, path, text, status, form, badge, notes };
      columns.set(id, c);
    }
    return c;
  }

  const rhymePairs = (f) => (Array.isArray(f.rhyme_pairs) ? f.rhyme_pairs : []).filter((p) => Array.isArray(p) && p.length === 2);

  function formWords(state, f) {
    const pairs = rhymePairs(f).map((p) => `${str(p[0])}–${str(p[1])}`);
    const words = [t(state, "poem.form.lines", { lines: str(f.lines), asked: str(f.lines_asked), mark: f.meets_form ? "✓" : "✗" })];
    if (pairs.length) words.push(t(state, "poem.form.rhymes", { pairs: pairs.join(", ") }));
    else if (f.rhyme_asked && f.meets_form) words.push(t(state, "poem.form.rhymes_plain"));
    return words.join(" · ");
  }

  // Why a poem misses its form, from the check's numbers (stages/poem_form.py words the same
  // rules in its `notes`: "3 lines, 4 asked; 0 of 3 lines rhyme").
  function formNotes(state, f) {
    const lines = Number(f.lines) || 0;
    const asked = Number(f.lines_asked) || 0;
    const rhymed = Number.isInteger(f.rhymed_lines) ? f.rhymed_lines : new Set(rhymePairs(f).flat()).size;
    const notes = [];
    if (lines !== asked) notes.push(plural(state, "poem.notes.lines", lines, { lines, asked }));
    if (f.rhyme_asked && (!lines || 2 * rhymed < lines)) notes.push(plural(state, "poem.notes.rhymed", lines, { rhymed, lines }));
    return notes.join(t(state, "sep.list"));
  }

  function statusWords(state, a) {
    if (!a) return "";
    if (a.dumped) return t(state, "status.removed");
    switch (a.status) {
      case "streaming": return "";
      case "done": return "";
      case "timeout": return a.reason ? t(state, "status.time_up_reason", { reason: a.reason }) : t(state, "status.time_up");
      case "dnf": return a.reason ? t(state, "status.dnf_reason", { reason: a.reason }) : t(state, "status.dnf");
      case "cancelled": return t(state, "status.stopped");
      default: return str(a.status);
    }
  }

  function drawPoems(state, ip, ids) {
    const paths = ip && ip.paths && typeof ip.paths === "object" ? ip.paths : {};
    const current = ip && state.question && state.question.question_id === ip.question_id;
    // After the stage, the finished poems are kept with the picture (state.image_poem.poems).
    const kept = ip && ip.poems && typeof ip.poems === "object" ? ip.poems : {};
    const answers = current ? state.answers : Object.fromEntries(Object.entries(kept).map(([c, t]) => [c, { text: t, status: "done" }]));
    const forms = ip && ip.forms && typeof ip.forms === "object" ? ip.forms : {};
    parts.poems.dataset.count = String(ids.length);
    const keep = new Set(ids);
    ids.forEach((id, i) => {
      const c = column(id);
      const a = answers[id] || null;
      c.box.dataset.slot = slot(state, id);
      c.box.dataset.status = a ? (a.dumped ? "dumped" : str(a.status)) : "waiting";
      setText(c.name, nameOf(id));
      setText(c.path, ip.path === "mixed" ? sees(state, paths[id]) : "");
      c.path.className = `ip-poem-path path-${paths[id] === "vlm" ? "vlm" : "labels"}${ip.path === "mixed" ? "" : " is-empty"}`;
      const text = a && !a.dumped ? str(a.text) : "";
      if (c.text.textContent !== text) {
        c.text.textContent = text;
        c.text.scrollTop = c.text.scrollHeight; // the newest line stays in view
      }
      toggle(c.text, "streaming", Boolean(a && a.status === "streaming" && !a.dumped));
      const status = statusWords(state, a);
      setText(c.status, status);
      toggle(c.status, "is-empty", !status);
      const f = forms[id];
      if (f && typeof f === "object") {
        const notes = f.meets_form ? "" : formNotes(state, f);
        setText(c.badge, formWords(state, f));
        setText(c.notes, notes);
        toggle(c.notes, "is-empty", !notes);
        c.form.dataset.meets = f.meets_form ? "true" : "false";
        toggle(c.form, "ok", Boolean(f.meets_form));
        toggle(c.form, "bad", !f.meets_form);
        toggle(c.form, "is-empty", false);
      } else {
        toggle(c.form, "is-empty", true);
        delete c.form.dataset.meets;
      }
      if (parts.poems.children[i] !== c.box) parts.poems.insertBefore(c.box, parts.poems.children[i] || null);
    });
    for (const [id, c] of columns) if (!keep.has(id)) { c.box.remove(); columns.delete(id); }
  }

  function draw({ state, data }) {
    stateRef = state;
    const ip = state.image_poem && typeof state.image_poem === "object" ? state.image_poem : null;
    const stage = ip ? state.stages.find((s) => s.index === ip.stage) : null;
    setText(parts.title, data.title != null && str(data.title) ? str(data.title) : (stage && stage.title) || t(state, "stage.kind.image_poem"));
    let question = "";
    if (data.question != null && str(data.question)) question = str(data.question);
    else if (ip && state.question && state.question.question_id === ip.question_id) question = str(state.question.text);
    else if (ip && ip.lines) question = t(state, ip.rhyme ? "poem.brief_rhyming" : "poem.brief", { lines: str(ip.lines) });
    setText(parts.question, question);
    toggle(parts.question, "is-empty", !question);
    root.dataset.question = ip ? str(ip.question_id) : "";
    drawPicture(state, ip);
    const paths = ip && ip.paths && typeof ip.paths === "object" ? ip.paths : {};
    // The stage's contestants, in the show's order first, then anyone the show does not list.
    const order = state.contestants.map((c) => c.id).filter((id) => id in paths)
      .concat(Object.keys(paths).filter((id) => !state.contestants.some((c) => c.id === id)));
    drawTold(state, ip, order);
    drawPoems(state, ip, order);
  }

  window.GavelUI.mount({ graphic: "image_poem", draw });
})();
