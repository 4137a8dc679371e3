/*
 * end-card.js: the end card (end-card.html), graphic name "end_card": the closing card of the
 * show. Data: title (default: the show's title), subtitle (default: none).
 *
 * Tonight's winner, first that applies:
 * - the studio's rating leaderboard (state.leaderboard, the latest `leaderboard` event): its rows
 *   in the studio's rank order; the winner is the first row; the standings show the ratings;
 * - the show's latest scoreboard (GavelUI.rankRows: most correct, accuracy, faster median); the
 *   winner is its best row, when that row has a correct answer; the standings show correct/answered;
 * - else nobody: the kicker says "No winner tonight" (end.no_winner).
 * The winner's name and team come from the show's contestants (its id when the show does not
 * list it). The standings are the top STANDINGS rows. Text only through textContent.
 */
(function () {
  "use strict";

  const { el, setText, toggle, str, t, contestant, slot, rankRows } = window.GavelUI;
  const q = (id) => document.querySelector(`[data-testid="${id}"]`);
  const parts = {
    card: q("end-card"), title: q("end-title"), subtitle: q("end-subtitle"), kicker: q("end-kicker"),
    winner: q("end-winner"), team: q("end-team"), rows: q("end-standings"),
  };
  const STANDINGS = 5;
  const finite = (v) => typeof v === "number" && isFinite(v);

  // [{id, rank, score}] best first, and where they came from.
  function standings(state) {
    const board = state.leaderboard;
    if (board && typeof board === "object" && Array.isArray(board.rows)) {
      const rows = board.rows.filter((r) => r && typeof r === "object" && typeof r.contestant === "string");
      if (rows.length) {
        // The studio ranks the rows; a row without a rank keeps its place.
        const ranked = rows.map((r, i) => ({ r, i, rank: Number.isInteger(r.rank) ? r.rank : i + 1 }))
          .sort((a, b) => a.rank - b.rank || a.i - b.i);
        return {
          source: "leaderboard",
          winner: ranked[0].r.contestant,
          rows: ranked.map(({ r, rank }) => ({ id: r.contestant, rank, score: finite(r.rating) ? r.rating.toFixed(1) : "—" })),
        };
      }
    }
    const sb = state.scoreboard;
    if (sb && Array.isArray(sb.rows) && sb.rows.length) {
      const ranked = rankRows(sb.rows.filter((r) => r && typeof r === "object"));
      const best = ranked.length ? ranked[0].row : null;
      return {
        source: "scoreboard",
        winner: best && (best.correct || 0) > 0 ? str(best.contestant) : null,
        rows: ranked.map(({ row, rank }) => ({ id: str(row.contestant), rank, score: `${row.correct ?? 0}/${row.answered ?? 0}` })),
      };
    }
    return { source: "none", winner: null, rows: [] };
  }

  function draw({ state, data }) {
    const showTitle = state.show ? str(state.show.title) : "";
    setText(parts.title, str(data.title) || showTitle);
    setText(parts.subtitle, str(data.subtitle));

    const { source, winner, rows } = standings(state);
    const c = winner ? contestant(state, winner) : null;
    parts.card.dataset.source = source;
    parts.card.dataset.winner = winner || "";
    parts.card.dataset.slot = winner && c ? slot(state, winner) : "";
    setText(parts.kicker, t(state, winner ? "end.kicker" : "end.no_winner"));
    setText(parts.winner, winner ? (c && c.name) || winner : "");
    setText(parts.team, c ? str(c.team) : "");

    const key = JSON.stringify([state.show && state.show.locale, rows.slice(0, STANDINGS), state.contestants]);
    if (parts.rows.dataset.key === key) return;
    parts.rows.dataset.key = key;
    parts.rows.replaceChildren(...rows.slice(0, STANDINGS).map((r, i) => {
      const who = contestant(state, r.id);
      const li = el("li", "ec-row");
      li.dataset.testid = `end-standings-${i}`;
      li.dataset.contestant = r.id;
      li.dataset.slot = who ? slot(state, r.id) : "";
      toggle(li, "first", r.id === winner);
      const name = el("span", "ec-who");
      name.append(el("span", "ec-name", (who && who.name) || r.id), el("span", "ec-row-team", who ? str(who.team) : ""));
      li.append(el("span", "ec-rank", r.rank), name, el("span", "ec-score", r.score));
      return li;
    }));
  }

  window.GavelUI.mount({ graphic: "end_card", draw });
})();
