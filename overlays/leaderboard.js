/*
 * leaderboard.js: the leaderboard (leaderboard.html). Where the rows come from, first that applies:
 * - data.rows = [{contestant, name?, score, detail?}], ranked by score;
 * - the studio's rating leaderboard (the latest `leaderboard` event: state.leaderboard), unless
 *   data.source is "scoreboard": its ranks, the headline rating as the score, the rated
 *   dimensions as the detail, and a ▲/▼ badge with what the latest result did to the contestant's
 *   Elo (elo_delta);
 * - the show's latest scoreboard (score = correct answers, detail = accuracy and median
 *   end-to-end time), unless data.source is "leaderboard" (which then waits for one).
 *
 * Rank changes animate FLIP-style: each row's old position is measured, the rows take their
 * new places (flex order), and each moved row slides from where it was (Web Animations). Without
 * the rating leaderboard a ▲/▼ badge says how many places a row moved; it stays until the
 * ranking changes again.
 */
(function () {
  "use strict";

  const { el, setText, toggle, str, t, word, fmtNumber, fmtSeconds, contestant, slot, rankRows, currentStage } = window.GavelUI;
  const q = (id) => document.querySelector(`[data-testid="${id}"]`);
  const parts = { title: q("lb-title"), subtitle: q("lb-subtitle"), list: q("lb-rows") };
  const rows = new Map(); // row id -> {li, rank, ...}
  let drawnKey = null;
  let drawnOrder = null; // ids and ranks last drawn: a change re-badges the rows

  function fromData(state, list) {
    const out = list.filter((r) => r && typeof r === "object").map((r) => {
      const c = contestant(state, str(r.contestant));
      return {
        id: str(r.contestant || r.name),
        name: str(r.name) || (c ? c.name : str(r.contestant)),
        team: c ? str(c.team) : "",
        score: typeof r.score === "number" && isFinite(r.score) ? r.score : 0,
        detail: str(r.detail),
        slot: c ? slot(state, c.id) : "",
      };
    });
    out.sort((a, b) => b.score - a.score);
    out.forEach((r, i) => { r.rank = i > 0 && out[i - 1].score === r.score ? out[i - 1].rank : i + 1; });
    return out;
  }

  function fromScoreboard(state) {
    const sb = state.scoreboard;
    if (!sb || !Array.isArray(sb.rows)) return [];
    return rankRows(sb.rows).map(({ row, rank }) => {
      const c = contestant(state, row.contestant);
      const acc = typeof row.accuracy === "number" ? `${Math.round(row.accuracy * 100)}%` : "";
      const e2e = typeof row.e2e_median === "number" ? `${fmtSeconds(row.e2e_median)} s` : "";
      return {
        id: str(row.contestant), name: c ? c.name : str(row.contestant), team: c ? str(c.team) : "",
        score: row.correct || 0, detail: [acc, e2e].filter(Boolean).join(" · "), slot: slot(state, row.contestant), rank,
      };
    });
  }

  const finite = (v) => typeof v === "number" && isFinite(v);

  // state.leaderboard (LeaderboardData): rows already ranked by the studio.
  function fromLeaderboard(state) {
    const board = state.leaderboard;
    if (!board || typeof board !== "object" || !Array.isArray(board.rows) || !board.rows.length) return null;
    const list = board.rows.filter((r) => r && typeof r === "object").map((r, i) => {
      const c = contestant(state, str(r.contestant));
      const dims = r.dimensions && typeof r.dimensions === "object" ? r.dimensions : {};
      const detail = Object.entries(dims)
        .filter(([, d]) => d && typeof d === "object" && finite(d.rating) && d.matches > 0)
        .map(([name, d]) => `${word(state, "dim.short.", name)} ${Math.round(d.rating)}`)
        .join(" · ");
      const delta = finite(r.elo_delta) ? Math.round(r.elo_delta * 10) / 10 : 0;
      return {
        id: str(r.contestant),
        name: c ? c.name : str(r.contestant),
        team: c ? str(c.team) : "",
        score: finite(r.rating) ? r.rating : 0,
        scoreText: finite(r.rating) ? r.rating.toFixed(1) : "—",
        detail,
        slot: c ? slot(state, c.id) : "",
        rank: Number.isInteger(r.rank) ? r.rank : i + 1,
        elo: delta,
      };
    });
    list.sort((a, b) => a.rank - b.rank || b.score - a.score);
    return list;
  }

  function build() {
    const li = el("li", "lb-row");
    const parts = {
      rank: el("span", "lb-rank"), name: el("span", "lb-name"), team: el("span", "lb-team"),
      detail: el("span", "lb-detail"), score: el("span", "lb-score"), delta: el("span", "lb-delta"),
    };
    const who = el("span", "lb-who");
    who.append(parts.name, parts.team);
    li.append(parts.rank, who, parts.delta, parts.detail, parts.score);
    return Object.assign({ li, rankWas: undefined }, parts);
  }

  function draw({ state, data }) {
    const stage = currentStage(state);
    setText(parts.title, str(data.title) || t(state, "lb.title"));
    setText(parts.subtitle, data.subtitle != null ? str(data.subtitle) : stage ? stage.title : state.show ? state.show.title : "");
    const source = str(data.source) || "auto";
    let list = null;
    let from = "scoreboard";
    if (Array.isArray(data.rows) && data.rows.length) { list = fromData(state, data.rows); from = "data"; }
    if (!list && source !== "scoreboard") { list = fromLeaderboard(state); from = "leaderboard"; }
    if (!list) { list = source === "leaderboard" ? [] : fromScoreboard(state); from = source === "leaderboard" ? "leaderboard" : "scoreboard"; }
    parts.list.dataset.source = from;
    const key = JSON.stringify(list);
    if (key === drawnKey) return;
    drawnKey = key;
    const order = JSON.stringify(list.map((r) => [r.id, r.rank]));
    const reranked = drawnOrder !== null && order !== drawnOrder;
    drawnOrder = order;

    const before = new Map([...rows].map(([id, ui]) => [id, ui.li.offsetTop]));
    const seen = new Set();
    list.forEach((r, i) => {
      const ui = rows.get(r.id) || build();
      rows.set(r.id, ui);
      seen.add(r.id);
      ui.li.dataset.testid = `lb-row-${i}`;
      ui.li.dataset.contestant = r.id;
      ui.li.dataset.slot = r.slot;
      toggle(ui.li, "first", r.rank === 1);
      setText(ui.rank, r.rank);
      setText(ui.name, r.name);
      setText(ui.team, r.team);
      setText(ui.detail, r.detail);
      setText(ui.score, r.scoreText != null ? r.scoreText : fmtNumber(r.score));
      if (from === "leaderboard") { // the Elo change the latest result made
        const d = r.elo;
        setText(ui.delta, d ? `${d > 0 ? "▲" : "▼"}${Math.abs(d).toFixed(1)}` : "");
        ui.delta.className = d ? `lb-delta ${d > 0 ? "up" : "down"}` : "lb-delta";
        ui.delta.dataset.kind = "elo";
      } else if (reranked || ui.delta.dataset.kind === "elo") {
        const moved = ui.rankWas !== undefined ? ui.rankWas - r.rank : 0;
        setText(ui.delta, moved ? `${moved > 0 ? "▲" : "▼"}${Math.abs(moved)}` : "");
        ui.delta.className = moved ? `lb-delta ${moved > 0 ? "up" : "down"}` : "lb-delta";
        ui.delta.dataset.kind = "rank";
      }
      ui.rankWas = r.rank;
      // Flex order, not DOM moves: a moved node would restart its CSS entry animation.
      ui.li.style.order = String(i);
      if (!ui.li.parentNode) parts.list.append(ui.li);
    });
    for (const [id, ui] of rows) if (!seen.has(id)) { ui.li.remove(); rows.delete(id); }

    for (const [id, ui] of rows) { // FLIP: slide from the old place to the new one
      const dy = before.has(id) ? before.get(id) - ui.li.offsetTop : 0;
      if (dy) ui.li.animate([{ transform: `translateY(${dy}px)` }, { transform: "none" }], { duration: 900, easing: "cubic-bezier(0.2, 0.8, 0.2, 1)" });
    }
  }

  window.GavelUI.mount({ graphic: "leaderboard", draw });
})();
