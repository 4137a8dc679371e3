"""The leaderboard: pairwise matches read off the show's event log, rated per dimension.

Every verdict the show produces becomes pairwise matches between contestants, because only
comparisons made under the same conditions are fair, and pairwise results are what Bradley–Terry
rates:

- Head-to-head Q&A (``question.closed``): every contestant answered the same question at the same
  moment. Accuracy: correct beats incorrect (a dnf or timeout is incorrect). Speed: only between
  two correct answers, lower end-to-end latency wins (within 5 % is a tie), so a fast wrong answer
  earns nothing. An uncertain verdict (``correct`` None) gives no verdict until it is decided; a
  decision that comes after the question closed re-rates that question.
- Judges (``judge.scored``): one judge's scores are compared only with the same judge's scores on
  the same item and criterion; judges' scales differ, and items differ in difficulty.
- Audience verdicts (``poll.closed`` of a poll opened with a ``dimension``): the winning
  contestant beats every other contestant on the ballot.
- Debates (``debate.result``): judges and audience combined, one match in the debate's
  dimension (a tie is a tie); judges' scores of the single turns count as judges' verdicts too.
- Qualification (``qualification.result``): every contestant scored by EvalScope on the same
  benchmark sets meets every other one so scored; the higher score wins (within 0.01 a tie).

The last result wins everywhere, as in ``show_state``: an answer to a question re-asked after a
crash replaces the first attempt, and a repeated close, re-score or re-close replaces the matches
it produced before. ``compute_leaderboard`` is a pure function of the events, so the studio can
recompute it from its log after a restart and get the same board.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from core import events as ev
from core.script import LEADERBOARD_DIMENSIONS

from .ratings import Match, bootstrap_intervals, bradley_terry, online_elo

DIMENSIONS = LEADERBOARD_DIMENSIONS

ANCHOR = 1000.0  # what a contestant with no results is rated (Bradley–Terry mean and Elo start)
SPEED_TIE = 0.05  # end-to-end times within 5 % of each other are a tie: noise, not speed
QUALIFICATION_TIE = 0.01  # benchmark scores this close are a tie: a question or two of noise
SAME_RATING = 0.05  # headlines this close (i.e. equal once rounded) share a rank


def _tenth(x: float) -> float:
    """Rounded to 0.1 for the board (and never -0.0, which would print as "-0.0" on air)."""
    return round(x, 1) + 0.0


def _verdict(x: float, y: float) -> float:
    """x's score in a match where the higher value wins."""
    return 1.0 if x > y else 0.0 if x < y else 0.5


class _MatchCollector:
    """Walks the event log once, keeping what each kind of verdict needs."""

    def __init__(self, criteria_dimensions: Mapping[str, str]) -> None:
        self.criteria_dimensions = dict(criteria_dimensions)
        self.contestants: list[str] = []
        self.matches: list[Match] = []
        self.last_seq = 0
        self.answers: dict[tuple[str, str], ev.AnswerFinishedData] = {}  # (question, contestant)
        self.grades: dict[tuple[str, str], bool] = {}
        self.closed: dict[str, ev.QuestionClosedData] = {}  # question -> its close, for late decisions
        self.judged: dict[tuple[str, str], dict[str, dict[str, int]]] = {}  # (judge, item) -> contestant -> scores
        self.verdict_polls: dict[str, tuple[str, list[str]]] = {}  # poll -> (dimension, choice ids)
        self.qualification: dict[str, float] = {}  # contestant -> latest score

    def feed(self, event: ev.Event) -> None:
        self.last_seq = event.seq
        data = event.data
        match event:
            case ev.ShowOpened():
                self.contestants = [c.id for c in data.contestants]
            case ev.AnswerFinished():
                key = (data.question_id, data.contestant)
                self.grades.pop(key, None)  # a new attempt needs its own grade
                if data.status == "cancelled":  # stopped by the director: not a result
                    self.answers.pop(key, None)
                else:
                    self.answers[key] = data
            case ev.AnswerGraded():
                key = (data.question_id, data.contestant)
                if key in self.answers:
                    if data.correct is None:  # uncertain: no verdict until decided
                        self.grades.pop(key, None)
                    else:
                        self.grades[key] = data.correct
                    if data.decided_by is not None and data.question_id in self.closed:
                        self._question_closed(self.closed[data.question_id])  # decided after the close
            case ev.QuestionClosed():
                self.closed[data.question_id] = data
                self._question_closed(data)
            case ev.JudgeScored():
                self._judge_scored(data)
            case ev.PollOpened():
                if data.dimension is not None:
                    self.verdict_polls[data.poll_id] = (data.dimension, [c.id for c in data.choices])
            case ev.PollClosed():
                self._poll_closed(data)
            case ev.DebateResult():
                self._debate_result(data)
            case ev.QualificationResult():
                self._qualification_result(data)
            case _:
                pass

    def _retract(self, batch: str, involving: str | None = None) -> None:
        """Drop the matches an earlier version of this result produced (the last result wins)."""
        self.matches = [m for m in self.matches if m.batch != batch or (involving is not None and involving not in (m.a, m.b))]

    def _question_closed(self, data: ev.QuestionClosedData) -> None:
        batch = f"q:{data.stage}:{data.question_id}"
        self._retract(batch)
        # (contestant, correct, e2e) in show order; an answer finished but never graded gives no verdict
        results: list[tuple[str, bool, float | None]] = []
        for contestant in self.contestants:
            key = (data.question_id, contestant)
            answer = self.answers.get(key)
            if answer is None:
                continue
            if answer.status != "done":
                results.append((contestant, False, answer.metrics.e2e))
            elif key in self.grades:
                results.append((contestant, self.grades[key], answer.metrics.e2e))
        for i, (a, a_correct, a_e2e) in enumerate(results):
            for b, b_correct, b_e2e in results[i + 1 :]:
                self.matches.append(Match(a, b, _verdict(a_correct, b_correct), "accuracy", batch))
                if a_correct and b_correct:
                    self.matches.append(Match(a, b, _speed_verdict(a_e2e, b_e2e), "speed", batch))

    def _judge_scored(self, data: ev.JudgeScoredData) -> None:
        if data.contestant not in self.contestants:
            return
        batch = f"judge:{data.judge}:{data.item}"
        card = self.judged.setdefault((data.judge, data.item), {})
        if data.contestant in card:  # the judge re-scored this contestant: the new card counts
            self._retract(batch, involving=data.contestant)
            del card[data.contestant]
        for other, other_scores in card.items():
            for criterion, score in data.scores.items():
                dimension = self.criteria_dimensions.get(criterion)
                if dimension is None or criterion not in other_scores:
                    continue
                self.matches.append(Match(other, data.contestant, _verdict(other_scores[criterion], score), dimension, batch))
        card[data.contestant] = dict(data.scores)

    def _poll_closed(self, data: ev.PollClosedData) -> None:
        poll = self.verdict_polls.get(data.poll_id)
        if poll is None:
            return
        batch = f"poll:{data.poll_id}"
        self._retract(batch)
        dimension, choices = poll
        winner = data.winner
        if winner is None or winner not in self.contestants or winner not in choices:
            return
        for loser in choices:
            if loser != winner and loser in self.contestants:
                self.matches.append(Match(winner, loser, 1.0, dimension, batch))

    def _debate_result(self, data: ev.DebateResultData) -> None:
        batch = f"debate:{data.debate_id}"
        self._retract(batch)
        pro, con = data.sides["pro"], data.sides["con"]
        if pro in self.contestants and con in self.contestants:
            score = 0.5 if data.winner is None else 1.0 if data.winner == pro else 0.0
            self.matches.append(Match(pro, con, score, data.dimension, batch))

    def _qualification_result(self, data: ev.QualificationResultData) -> None:
        if data.contestant not in self.contestants:
            return
        self.qualification[data.contestant] = data.score
        batch = "qualification"
        self._retract(batch)
        scored = [c for c in self.contestants if c in self.qualification]
        for i, a in enumerate(scored):
            for b in scored[i + 1 :]:
                gap = self.qualification[a] - self.qualification[b]
                score = 0.5 if abs(gap) <= QUALIFICATION_TIE else 1.0 if gap > 0 else 0.0
                self.matches.append(Match(a, b, score, "qualification", batch))


def _speed_verdict(a_e2e: float | None, b_e2e: float | None) -> float:
    """a's score on speed: the lower end-to-end time wins, unless the two are within 5 %."""
    if a_e2e is None or b_e2e is None or abs(a_e2e - b_e2e) <= SPEED_TIE * max(a_e2e, b_e2e):
        return 0.5
    return 1.0 if a_e2e < b_e2e else 0.0


def _collect(events: Iterable[ev.Event], criteria_dimensions: Mapping[str, str]) -> _MatchCollector:
    collector = _MatchCollector(criteria_dimensions)
    for event in events:
        collector.feed(event)
    return collector


def matches_from_events(events: Iterable[ev.Event], criteria_dimensions: Mapping[str, str]) -> list[Match]:
    """The pairwise matches the director-channel events imply, in log order (see the module docstring)."""
    return _collect(events, criteria_dimensions).matches


def compute_leaderboard(
    events: Iterable[ev.Event],
    weights: Mapping[str, float],
    criteria_dimensions: Mapping[str, str],
    bootstrap_rounds: int = 200,
    seed: int = 0,
) -> ev.LeaderboardData:
    """The leaderboard as of the last event: Bradley–Terry per dimension, a weighted headline, Elo.

    The headline is the weighted mean of the dimension ratings over the dimensions with a nonzero
    weight (all dimensions equally when every weight is zero). Rank is by headline, best first;
    equal headlines share a rank, and the show's contestant order breaks the tie in the listing.
    """
    weights = {d: float(weights.get(d, 0.0)) for d in DIMENSIONS}
    if any(w < 0 for w in weights.values()):
        raise ValueError(f"weights must be >= 0, got {weights}")
    collector = _collect(events, criteria_dimensions)
    contestants, matches = collector.contestants, collector.matches
    weighted = {d: w for d, w in weights.items() if w > 0} or {d: 1.0 for d in DIMENSIONS}

    per_dimension: dict[str, dict[str, ev.LeaderboardDimension]] = {c: {} for c in contestants}
    headline = {c: 0.0 for c in contestants}
    for dimension in DIMENSIONS:
        these = [m for m in matches if m.dimension == dimension]
        ratings = bradley_terry(these, contestants, anchor=ANCHOR)
        intervals = bootstrap_intervals(these, contestants, rounds=bootstrap_rounds, seed=seed, anchor=ANCHOR)
        for c in contestants:
            low, high = intervals[c]
            per_dimension[c][dimension] = ev.LeaderboardDimension(
                rating=_tenth(ratings[c]),
                ci_low=_tenth(low),
                ci_high=_tenth(high),
                matches=sum(1 for m in these if c in (m.a, m.b)),
            )
            if dimension in weighted:
                headline[c] += weighted[dimension] * ratings[c]
    total_weight = sum(weighted.values())
    headline = {c: _tenth(h / total_weight) for c, h in headline.items()}

    elo, elo_delta = online_elo(matches, contestants, initial=ANCHOR)
    order = sorted(range(len(contestants)), key=lambda i: (-headline[contestants[i]], i))
    rows: list[ev.LeaderboardRow] = []
    for position, i in enumerate(order):
        c = contestants[i]
        if rows and abs(headline[c] - rows[-1].rating) < SAME_RATING:
            rank = rows[-1].rank
        else:
            rank = position + 1
        rows.append(
            ev.LeaderboardRow(
                contestant=c,
                rank=rank,
                rating=headline[c],
                dimensions=per_dimension[c],
                elo=_tenth(elo[c]),
                elo_delta=_tenth(elo_delta[c]),
            )
        )
    return ev.LeaderboardData(rows=rows, weights=weights, matches=len(matches), through_seq=collector.last_seq)
