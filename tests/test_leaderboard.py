"""Matches from the event log, and the leaderboard rated from them (results/leaderboard.py)."""

from __future__ import annotations

import pytest

from core import events as ev
from results.leaderboard import DIMENSIONS, compute_leaderboard, matches_from_events
from results.ratings import Match

CONTESTANTS = ("ada", "bob", "cy")
CRITERIA = {"creativity": "creativity", "logic": "accuracy"}  # "style" is deliberately unmapped


def opened() -> ev.ShowOpened:
    return ev.ShowOpened(
        data=ev.ShowOpenedData(
            show_id="s1",
            title="Test show",
            stages=[ev.StageInfo(index=0, kind="speed_qa", title="Quick fire")],
            contestants=[ev.ContestantInfo(id=c, name=c.title()) for c in CONTESTANTS],
        )
    )


def asked(question_id: str, stage: int = 0) -> ev.QuestionAsked:
    return ev.QuestionAsked(
        data=ev.QuestionAskedData(
            stage=stage, number=1, of=3, question_id=question_id, text="2+2?", kind="exact", time_limit_s=10.0, deadline_ts=10.0
        )
    )


def finished(question_id: str, contestant: str, status: str = "done", e2e: float | None = 1.0) -> ev.AnswerFinished:
    return ev.AnswerFinished(
        data=ev.AnswerFinishedData(
            question_id=question_id,
            contestant=contestant,
            status=status,
            text="4",
            metrics=ev.AnswerMetrics(ttft=0.1, e2e=e2e, output_tokens=3),
        )
    )


def graded(question_id: str, contestant: str, correct: bool) -> ev.AnswerGraded:
    return ev.AnswerGraded(
        data=ev.AnswerGradedData(
            question_id=question_id, contestant=contestant, correct=correct, extracted="4" if correct else "5", expected="4"
        )
    )


def answer(question_id: str, contestant: str, correct: bool, e2e: float | None = 1.0, status: str = "done") -> list:
    return [finished(question_id, contestant, status, e2e), graded(question_id, contestant, correct)]


def closed(question_id: str, stage: int = 0) -> ev.QuestionClosed:
    return ev.QuestionClosed(data=ev.QuestionClosedData(stage=stage, question_id=question_id))


def scored(judge: str, item: str, contestant: str, **scores: int) -> ev.JudgeScored:
    return ev.JudgeScored(
        data=ev.JudgeScoredData(
            judge=judge, target=f"answer:0:{item}:{contestant}", stage=0, item=item, contestant=contestant, scores=scores
        )
    )


def poll_opened(poll_id: str, choices: list[str], dimension: str | None) -> ev.PollOpened:
    return ev.PollOpened(
        data=ev.PollOpenedData(
            poll_id=poll_id,
            title="Who was best?",
            kind="choice",
            choices=[ev.PollChoice(id=c, label=c.title()) for c in choices],
            allow_change=False,
            dimension=dimension,
        )
    )


def poll_closed(poll_id: str, winner: str | None, counts: dict[str, int]) -> ev.PollClosed:
    return ev.PollClosed(
        data=ev.PollClosedData(
            poll_id=poll_id, counts=counts, total=sum(counts.values()), winner=winner, decided_by="audience" if winner else "none"
        )
    )


def log(*parts) -> list:
    """The events in order, flattened, with the seq numbers the event log would give them."""
    flat = []
    for part in parts:
        flat.extend(part if isinstance(part, list) else [part])
    return [event.model_copy(update={"seq": seq, "ts": 1000.0 + seq}) for seq, event in enumerate(flat, start=1)]


def verdicts(matches: list[Match]) -> list[tuple[str, str, str, str]]:
    """(dimension, winner, loser, batch), a tie as (dimension, "tie", "x=y" sorted, batch)."""
    out = []
    for m in matches:
        if m.score == 1.0:
            out.append((m.dimension, m.a, m.b, m.batch))
        elif m.score == 0.0:
            out.append((m.dimension, m.b, m.a, m.batch))
        else:
            out.append((m.dimension, "tie", "=".join(sorted((m.a, m.b))), m.batch))
    return out


def test_the_events_built_here_are_valid_wire_events():
    events = log(
        opened(),
        asked("q1"),
        answer("q1", "ada", True),
        closed("q1"),
        scored("j1", "q1", "ada", creativity=7),
        poll_opened("p1", ["ada", "bob"], "creativity"),
        poll_closed("p1", "ada", {"ada": 3, "bob": 1}),
    )
    for event in events:
        assert ev.parse_event(event.model_dump_json()) == event


def test_question_gives_accuracy_for_all_and_speed_between_correct_answers_only():
    events = log(
        opened(),
        asked("q1"),
        answer("q1", "ada", True, e2e=1.0),
        answer("q1", "bob", True, e2e=2.0),
        answer("q1", "cy", False, e2e=None, status="dnf"),
        closed("q1"),
    )
    assert sorted(verdicts(matches_from_events(events, CRITERIA))) == sorted(
        [
            ("accuracy", "tie", "ada=bob", "q:0:q1"),
            ("accuracy", "ada", "cy", "q:0:q1"),
            ("accuracy", "bob", "cy", "q:0:q1"),
            ("speed", "ada", "bob", "q:0:q1"),  # cy's dnf earns no speed match at all
        ]
    )


def test_dnf_and_timeout_count_as_incorrect_whatever_the_grade_says():
    events = log(
        opened(),
        asked("q1"),
        answer("q1", "ada", True, e2e=0.5, status="timeout"),  # a grade of True must not rescue it
        answer("q1", "bob", False, e2e=3.0),
        closed("q1"),
    )
    assert verdicts(matches_from_events(events, CRITERIA)) == [("accuracy", "tie", "ada=bob", "q:0:q1")]


def test_speed_within_five_percent_or_unmeasured_is_a_tie():
    events = log(
        opened(),
        asked("q1"),
        answer("q1", "ada", True, e2e=1.00),
        answer("q1", "bob", True, e2e=1.04),
        answer("q1", "cy", True, e2e=None),
        closed("q1"),
    )
    speed = [v for v in verdicts(matches_from_events(events, CRITERIA)) if v[0] == "speed"]
    assert sorted(speed) == [
        ("speed", "tie", "ada=bob", "q:0:q1"),
        ("speed", "tie", "ada=cy", "q:0:q1"),
        ("speed", "tie", "bob=cy", "q:0:q1"),
    ]
    events[4:6] = log(answer("q1", "bob", True, e2e=1.10))  # just over 5 % slower: ada wins
    speed = [v for v in verdicts(matches_from_events(events, CRITERIA)) if v[0] == "speed"]
    assert ("speed", "ada", "bob", "q:0:q1") in speed


def test_nothing_counts_until_the_question_closes():
    events = log(opened(), asked("q1"), answer("q1", "ada", True), answer("q1", "bob", False))
    assert matches_from_events(events, CRITERIA) == []
    assert len(matches_from_events(events + log(closed("q1")), CRITERIA)) == 1


def test_a_question_reasked_after_a_crash_replaces_the_first_attempt():
    events = log(
        opened(),
        asked("q1"),
        answer("q1", "ada", True, e2e=1.0),
        answer("q1", "bob", False, e2e=1.0),
        # crash before the close; the studio comes back and asks q1 again
        asked("q1"),
        answer("q1", "ada", False, e2e=2.0),
        answer("q1", "bob", True, e2e=1.0),
        closed("q1"),
    )
    assert verdicts(matches_from_events(events, CRITERIA)) == [("accuracy", "bob", "ada", "q:0:q1")]


def test_a_cancelled_answer_is_no_result():
    events = log(
        opened(),
        asked("q1"),
        answer("q1", "ada", True),
        finished("q1", "bob", status="cancelled"),
        answer("q1", "cy", False),
        closed("q1"),
    )
    assert verdicts(matches_from_events(events, CRITERIA)) == [("accuracy", "ada", "cy", "q:0:q1")]


def test_closing_a_question_twice_does_not_count_it_twice():
    events = log(opened(), asked("q1"), answer("q1", "ada", True), answer("q1", "bob", False), closed("q1"), closed("q1"))
    assert verdicts(matches_from_events(events, CRITERIA)) == [("accuracy", "ada", "bob", "q:0:q1")]


def test_a_judge_compares_contestants_on_the_same_item_and_criterion_only():
    events = log(
        opened(),
        scored("j1", "q1", "ada", creativity=8, logic=5, style=3),
        scored("j1", "q2", "bob", creativity=2),  # a different item: never compared with q1
        scored("j2", "q1", "cy", creativity=9),  # a different judge: never compared with j1
        scored("j1", "q1", "bob", creativity=6, logic=5, style=9),
        scored("j1", "q1", "cy", logic=7),
    )
    assert matches_from_events(events[:4], CRITERIA) == []
    assert verdicts(matches_from_events(events, CRITERIA)) == [
        ("creativity", "ada", "bob", "judge:j1:q1"),  # emitted when bob's card arrived
        ("accuracy", "tie", "ada=bob", "judge:j1:q1"),  # "logic" feeds accuracy; "style" is unmapped
        ("accuracy", "cy", "ada", "judge:j1:q1"),  # cy has no creativity score from j1: logic only
        ("accuracy", "cy", "bob", "judge:j1:q1"),
    ]
    assert len(matches_from_events(events[:5], CRITERIA)) == 2


def test_a_judge_rescoring_a_contestant_replaces_the_earlier_card():
    events = log(
        opened(),
        scored("j1", "q1", "ada", creativity=8),
        scored("j1", "q1", "bob", creativity=6),
        scored("j1", "q1", "bob", creativity=9),
    )
    assert verdicts(matches_from_events(events, CRITERIA)) == [("creativity", "bob", "ada", "judge:j1:q1")]


def test_an_audience_verdict_poll_makes_the_winner_beat_every_other_contestant():
    events = log(
        opened(),
        poll_opened("p1", ["ada", "bob", "cy", "nobody"], "creativity"),
        poll_closed("p1", "bob", {"ada": 2, "bob": 9, "cy": 1, "nobody": 4}),
    )
    assert sorted(verdicts(matches_from_events(events, CRITERIA))) == [
        ("creativity", "bob", "ada", "poll:p1"),
        ("creativity", "bob", "cy", "poll:p1"),
    ]


def test_polls_without_a_dimension_or_a_winner_give_nothing():
    events = log(
        opened(),
        poll_opened("p1", ["ada", "bob"], None),
        poll_closed("p1", "ada", {"ada": 5, "bob": 1}),
        poll_opened("p2", ["ada", "bob"], "creativity"),
        poll_closed("p2", None, {"ada": 0, "bob": 0}),
    )
    assert matches_from_events(events, CRITERIA) == []


def test_only_known_contestants_get_matches():
    events = log(
        opened(),
        asked("q1"),
        answer("q1", "ada", True),
        answer("q1", "zed", False),  # not in show.opened
        closed("q1"),
        scored("j1", "q1", "ada", creativity=5),
        scored("j1", "q1", "zed", creativity=9),
        poll_opened("p1", ["zed", "ada"], "creativity"),
        poll_closed("p1", "zed", {"zed": 5, "ada": 1}),
    )
    assert matches_from_events(events, CRITERIA) == []


def quiz() -> list:
    """Three questions. Accuracy: cy 3/3 > bob 2/3 > ada 1/3. Speed (between correct answers): ada
    beats bob and cy on q1, bob beats cy on q1 and q2, so ada > bob > cy."""
    return log(
        opened(),
        asked("q1"),
        answer("q1", "ada", True, e2e=1.0),
        answer("q1", "bob", True, e2e=2.0),
        answer("q1", "cy", True, e2e=3.0),
        closed("q1"),
        asked("q2"),
        answer("q2", "ada", False, e2e=1.0),
        answer("q2", "bob", True, e2e=2.0),
        answer("q2", "cy", True, e2e=3.0),
        closed("q2"),
        asked("q3"),
        answer("q3", "ada", False, e2e=1.0),
        answer("q3", "bob", False, e2e=2.0),
        answer("q3", "cy", True, e2e=3.0),
        closed("q3"),
    )


def ranking(board: ev.LeaderboardData) -> list[tuple[str, int]]:
    return [(row.contestant, row.rank) for row in board.rows]


def test_ranks_follow_the_weighted_dimension():
    events = quiz()
    by_accuracy = compute_leaderboard(events, {"accuracy": 1.0}, CRITERIA, bootstrap_rounds=50)
    by_speed = compute_leaderboard(events, {"speed": 1.0, "accuracy": 0.0}, CRITERIA, bootstrap_rounds=50)
    assert ranking(by_accuracy) == [("cy", 1), ("bob", 2), ("ada", 3)]
    assert ranking(by_speed) == [("ada", 1), ("bob", 2), ("cy", 3)]
    for row in by_accuracy.rows:
        assert row.rating == row.dimensions["accuracy"].rating


def test_the_headline_is_the_weighted_mean_of_the_dimensions():
    board = compute_leaderboard(quiz(), {"speed": 1.0, "accuracy": 3.0, "creativity": 0.0}, CRITERIA, bootstrap_rounds=50)
    assert board.weights == {"speed": 1.0, "accuracy": 3.0, "creativity": 0.0, "logic": 0.0, "values": 0.0, "qualification": 0.0}
    for row in board.rows:
        mix = (row.dimensions["speed"].rating + 3 * row.dimensions["accuracy"].rating) / 4
        assert row.rating == pytest.approx(mix, abs=0.1)  # creativity (all 1000 here) has no say
    assert [row.rating for row in board.rows] == sorted((row.rating for row in board.rows), reverse=True)


def test_the_board_counts_matches_and_reports_intervals_elo_and_the_last_seq():
    events = quiz()
    board = compute_leaderboard(events, {"accuracy": 2.0, "speed": 1.0}, CRITERIA, bootstrap_rounds=50)
    matches = matches_from_events(events, CRITERIA)
    assert board.matches == len(matches) == 9 + 4  # 3 accuracy per question, speed 3 + 1 + 0
    assert board.through_seq == events[-1].seq
    rows = {row.contestant: row for row in board.rows}
    assert set(rows) == set(CONTESTANTS)
    for row in board.rows:
        assert set(row.dimensions) == set(DIMENSIONS)
        for dim in row.dimensions.values():
            assert dim.ci_low <= dim.rating <= dim.ci_high
        assert row.dimensions["creativity"].rating == 1000.0 and row.dimensions["creativity"].matches == 0
    assert rows["ada"].dimensions["accuracy"].matches == 6 and rows["ada"].dimensions["speed"].matches == 2
    assert rows["cy"].elo > rows["ada"].elo
    # The last result is q3 (cy right, the others wrong): only it moves elo_delta.
    assert rows["cy"].elo_delta > 0 > rows["ada"].elo_delta
    assert sum(row.elo_delta for row in board.rows) == pytest.approx(0.0, abs=0.2)


def test_no_results_means_everyone_shares_first_place_in_show_order():
    board = compute_leaderboard(log(opened()), {"accuracy": 1.0}, CRITERIA)
    assert ranking(board) == [("ada", 1), ("bob", 1), ("cy", 1)]
    assert all(row.rating == 1000.0 and row.elo == 1000.0 and row.elo_delta == 0.0 for row in board.rows)
    assert board.matches == 0 and board.through_seq == 1
    assert compute_leaderboard([], {"accuracy": 1.0}, CRITERIA).through_seq == 0


def test_equal_headlines_share_a_rank():
    events = quiz()[:9]  # q1 only: all correct, so accuracy is a three-way tie
    board = compute_leaderboard(events, {"accuracy": 1.0}, CRITERIA, bootstrap_rounds=20)
    assert ranking(board) == [("ada", 1), ("bob", 1), ("cy", 1)]
    board = compute_leaderboard(events, {"speed": 1.0}, CRITERIA, bootstrap_rounds=20)
    assert ranking(board) == [("ada", 1), ("bob", 2), ("cy", 3)]


def test_same_events_give_the_same_board_and_it_validates():
    events = quiz() + log(
        scored("j1", "q1", "ada", creativity=8),
        scored("j1", "q1", "bob", creativity=4),
        poll_opened("p1", ["ada", "bob", "cy"], "creativity"),
        poll_closed("p1", "cy", {"ada": 1, "bob": 1, "cy": 5}),
    )
    weights = {"speed": 1.0, "accuracy": 2.0, "creativity": 1.0}
    first = compute_leaderboard(events, weights, CRITERIA)
    again = compute_leaderboard(iter(list(events)), weights, CRITERIA)  # a one-shot iterator works too
    assert first.model_dump() == again.model_dump()
    assert ev.LeaderboardData.model_validate(first.model_dump()) == first
    on_air = ev.Leaderboard(seq=99, data=first)
    assert ev.parse_event(on_air.model_dump_json()) == on_air
    assert first.matches == 13 + 1 + 2


def test_negative_weights_are_refused():
    with pytest.raises(ValueError):
        compute_leaderboard(quiz(), {"accuracy": 1.0, "speed": -1.0}, CRITERIA)


def qualified(contestant: str, score: float) -> ev.QualificationResult:
    return ev.QualificationResult(
        data=ev.QualificationResultData(contestant=contestant, scores={"mmlu_mini": score}, score=score, samples=10, report="r")
    )


def test_qualification_scores_become_matches_and_the_latest_score_counts():
    events = [opened(), qualified("ada", 0.6), qualified("bob", 0.3), qualified("cy", 0.605), qualified("bob", 0.9)]
    matches = matches_from_events(events, CRITERIA)
    assert sorted((m.a, m.b, m.score) for m in matches) == [("ada", "bob", 0.0), ("ada", "cy", 0.5), ("bob", "cy", 1.0)]
    assert {m.dimension for m in matches} == {"qualification"}
    board = compute_leaderboard(events, {"qualification": 1.0}, CRITERIA, bootstrap_rounds=20)
    assert board.rows[0].contestant == "bob" and board.rows[0].dimensions["qualification"].matches == 2
    assert board.rows[0].rating > board.rows[1].rating
