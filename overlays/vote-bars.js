/*
 * vote-bars.js: the vote bars (vote-bars.html). The contract (live tallies fill it in later):
 *   data = {question, options: [{id, label, votes}], revealed}
 * Each bar animates to its option's share of all votes; the total is shown below. revealed
 * (or next(): step 2) closes the vote on screen and marks the leading option(s) as the winner.
 */
(function () {
  "use strict";

  const { el, setText, toggle, str, fmtNumber } = window.GavelUI;
  const q = (id) => document.querySelector(`[data-testid="${id}"]`);
  const parts = { box: q("vote-bars"), state: q("vb-state"), question: q("vb-question"), list: q("vb-options"), total: q("vb-total") };
  const rows = new Map(); // option id -> its row's elements (kept, so the bars animate)
  let step = 0;

  function options(data) {
    const list = Array.isArray(data.options) ? data.options : [];
    return list.filter((o) => o && typeof o === "object").map((o, i) => ({
      id: str(o.id != null ? o.id : i),
      label: str(o.label != null ? o.label : o.id),
      votes: typeof o.votes === "number" && isFinite(o.votes) && o.votes > 0 ? o.votes : 0,
    }));
  }

  function row(id) {
    let r = rows.get(id);
    if (!r) {
      const li = el("li", "vb-row");
      const key = el("span", "vb-key");
      const label = el("span", "vb-label");
      const pct = el("span", "vb-pct");
      const votes = el("span", "vb-votes");
      const fill = el("i", "vb-fill");
      const bar = el("div", "vb-bar");
      bar.append(fill);
      li.append(key, label, pct, votes, bar);
      r = { li, key, label, pct, votes, fill };
      rows.set(id, r);
    }
    return r;
  }

  function draw({ data }) {
    const opts = options(data);
    const total = opts.reduce((sum, o) => sum + o.votes, 0);
    const top = Math.max(0, ...opts.map((o) => o.votes));
    const revealed = data.revealed === true || step > 0;
    setText(parts.question, data.question);
    toggle(parts.question, "is-empty", !str(data.question));
    setText(parts.state, revealed ? "Result" : "Live");
    toggle(parts.box, "revealed", revealed);
    const keep = new Set();
    opts.forEach((o, i) => {
      const r = row(o.id);
      keep.add(o.id);
      r.li.dataset.testid = `vb-option-${i}`;
      const share = total > 0 ? o.votes / total : 0;
      setText(r.key, String.fromCharCode(65 + i));
      setText(r.label, o.label);
      setText(r.pct, `${Math.round(share * 100)}%`);
      setText(r.votes, fmtNumber(o.votes));
      toggle(r.li, "winner", revealed && total > 0 && o.votes === top);
      r.li.dataset.share = share.toFixed(4);
      if (r.li.parentNode !== parts.list || parts.list.children[i] !== r.li) parts.list.insertBefore(r.li, parts.list.children[i] || null);
      // Set the width a frame after insertion so a new bar grows from zero too.
      requestAnimationFrame(() => { r.fill.style.width = `${(share * 100).toFixed(2)}%`; });
    });
    for (const [id, r] of rows) if (!keep.has(id)) { r.li.remove(); rows.delete(id); }
    setText(parts.total, `${fmtNumber(total)} ${total === 1 ? "vote" : "votes"}`);
  }

  window.GavelUI.mount({ graphic: "vote_bars", draw, next: () => { step = 1; } });
})();
