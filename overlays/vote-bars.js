/*
 * vote-bars.js: the vote bars (vote-bars.html).
 *
 * Two sources, chosen by the data:
 * - A live poll (the default): the poll named by data.poll, else the show's current poll
 *   (state.current_poll, the latest opened). Choices, counts and total are exactly what this
 *   page's state holds: the poll.tally events (at most a few a second) and the final poll.closed.
 *   Nothing is interpolated: a count on screen is a count the studio published. Once the poll is
 *   closed its winner (the audience's, or the director's pick) is marked. data.question
 *   overrides the poll's title.
 * - Fixed data (data.options given, non-empty): {question, options: [{id, label, votes}],
 *   revealed}, as an operator or a CasparCG template sends it.
 * Each bar animates (CSS transition) to its option's share of all votes; the total is shown
 * below. revealed (or next(): step 2) marks the leading option(s) of a poll still open, or of
 * fixed data, as the winner.
 */
(function () {
  "use strict";

  const { el, setText, toggle, str, t, plural, fmtNumber } = window.GavelUI;
  const q = (id) => document.querySelector(`[data-testid="${id}"]`);
  const parts = { box: q("vote-bars"), state: q("vb-state"), question: q("vb-question"), list: q("vb-options"), total: q("vb-total") };
  const rows = new Map(); // option id -> its row's elements (kept, so the bars animate)
  let step = 0;
  let closing = false; // a poll's countdown is on screen: redraw between events

  const count = (v) => (typeof v === "number" && isFinite(v) && v > 0 ? v : 0);

  function fromData(data) {
    const list = Array.isArray(data.options) ? data.options : [];
    const options = list.filter((o) => o && typeof o === "object").map((o, i) => ({
      id: str(o.id != null ? o.id : i),
      label: str(o.label != null ? o.label : o.id),
      votes: count(o.votes),
    }));
    return { source: "data", question: str(data.question), options, closed: data.revealed === true, winner: null, pollId: "" };
  }

  function fromPoll(state, data) {
    const polls = state.polls || {};
    const id = typeof data.poll === "string" && data.poll ? data.poll : state.current_poll;
    const poll = id != null ? polls[id] : null;
    if (!poll || typeof poll !== "object") {
      return { source: "poll", question: str(data.question), options: [], closed: false, winner: null, pollId: str(id), missing: true };
    }
    const counts = poll.counts && typeof poll.counts === "object" ? poll.counts : {};
    const choices = Array.isArray(poll.choices) ? poll.choices : [];
    const options = choices.filter((c) => c && typeof c === "object").map((c) => ({
      id: str(c.id), label: str(c.label != null ? c.label : c.id), votes: count(counts[c.id]),
    }));
    return {
      source: "poll",
      pollId: str(poll.poll_id),
      question: data.question != null && str(data.question) ? str(data.question) : str(poll.title),
      options,
      closed: poll.status === "closed",
      winner: poll.status === "closed" && poll.winner != null ? str(poll.winner) : null,
      decidedBy: poll.decided_by == null ? "" : str(poll.decided_by),
      kind: str(poll.kind),
      total: typeof poll.total === "number" && isFinite(poll.total) ? poll.total : null,
      closesTs: poll.status === "open" && typeof poll.closes_ts === "number" ? poll.closes_ts : null,
    };
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
      r = { li, key, label, pct, votes, fill, width: null };
      rows.set(id, r);
    }
    return r;
  }

  function clock(seconds) {
    const s = Math.max(0, Math.ceil(seconds));
    return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
  }

  function draw({ state, data, client }) {
    const explicit = Array.isArray(data.options) && data.options.length > 0;
    const vote = explicit ? fromData(data) : fromPoll(state, data);
    const opts = vote.options;
    const summed = opts.reduce((sum, o) => sum + o.votes, 0);
    // The poll's own total when it has one (the studio's count); the sum of the bars otherwise.
    const total = vote.total != null ? vote.total : summed;
    const top = Math.max(0, ...opts.map((o) => o.votes));
    const result = vote.closed || step > 0;
    const picked = vote.winner; // a closed poll says who won (possibly the director's pick)
    setText(parts.question, vote.question);
    toggle(parts.question, "is-empty", !vote.question);
    setText(parts.state, t(state, result ? "vote.state.result" : vote.missing ? "vote.state.none" : "vote.state.live"));
    toggle(parts.box, "revealed", result);
    parts.box.dataset.source = vote.source;
    parts.box.dataset.poll = vote.pollId || "";
    parts.box.dataset.status = vote.source === "poll" ? (vote.missing ? "none" : vote.closed ? "closed" : "open") : result ? "revealed" : "live";
    parts.box.dataset.decidedBy = vote.decidedBy || "";
    // The winner's mark (vote-bars.css draws it after the label): the director's pick says so.
    const mark = t(state, vote.decidedBy === "director" ? "vote.mark.directors_pick" : "vote.mark.winner");
    const unit = t(state, "vote.unit");
    const keep = new Set();
    opts.forEach((o, i) => {
      const r = row(o.id);
      keep.add(o.id);
      r.li.dataset.testid = `vb-option-${i}`;
      r.li.dataset.choice = o.id;
      const share = summed > 0 ? o.votes / summed : 0;
      setText(r.key, String.fromCharCode(65 + (i % 26)));
      setText(r.label, o.label);
      setText(r.pct, `${Math.round(share * 100)}%`);
      setText(r.votes, fmtNumber(o.votes));
      if (r.votes.dataset.unit !== unit) r.votes.dataset.unit = unit;
      if (r.label.dataset.mark !== mark) r.label.dataset.mark = mark;
      const winner = picked != null ? o.id === picked : result && summed > 0 && o.votes === top;
      toggle(r.li, "winner", winner);
      r.li.dataset.votes = String(o.votes);
      r.li.dataset.share = share.toFixed(4);
      if (r.li.parentNode !== parts.list || parts.list.children[i] !== r.li) parts.list.insertBefore(r.li, parts.list.children[i] || null);
      // Set the width a frame after insertion so a new bar grows from zero too; each tally
      // retargets the transition from wherever the bar is.
      const width = `${(share * 100).toFixed(2)}%`;
      if (r.width !== width) {
        r.width = width;
        requestAnimationFrame(() => { r.fill.style.width = r.width; });
      }
    });
    for (const [id, r] of rows) if (!keep.has(id)) { r.li.remove(); rows.delete(id); }
    const words = [plural(state, "vote.votes", total, { count: fmtNumber(total) })];
    if (vote.kind === "rating" && summed > 0) {
      const mean = opts.reduce((sum, o) => sum + (Number(o.id) || 0) * o.votes, 0) / summed;
      words.push(t(state, "vote.average", { mean: mean.toFixed(1) }));
    }
    closing = vote.closesTs != null && !!client;
    if (closing) words.push(t(state, "vote.closes_in", { time: clock(vote.closesTs - client.serverNow() / 1000) }));
    if (vote.source === "poll" && vote.closed && vote.decidedBy === "director") words.push(t(state, "vote.directors_pick"));
    setText(parts.total, opts.length || !vote.missing ? words.join(" · ") : "");
  }

  const page = window.GavelUI.mount({ graphic: "vote_bars", draw, next: () => { step = 1; } });
  // The countdown to a poll's closes_ts moves between events: redraw twice a second while one runs.
  page.every(500, () => { if (closing) page.redraw(); });
})();
