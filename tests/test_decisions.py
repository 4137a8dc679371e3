"""Uncertain verdicts and the ``decide`` command (studio/show/decisions.py), on a real Redis: the
controller runs no model here — verdicts are published as the speed Q&A stage publishes them."""

from __future__ import annotations

import asyncio
from pathlib import Path

import redis.asyncio as aioredis

from core import events as ev
from engine_pool.pool import EnginePool, Route
from results.export import show_results
from results.leaderboard import matches_from_events
from store.event_log import EventLog
from studio.show.controller import ShowController
from studio.show.rundown import load_script

from .conftest import run
from .test_leaderboard import asked, closed, finished, log, opened, verdicts

REPO = Path(__file__).resolve().parent.parent


def _script(tmp_path: Path, timeout_s: float = 30):
    path = tmp_path / "show.yaml"
    path.write_text(
        (REPO / "show_scripts/rehearsal.yaml").read_text().replace("bank: banks/demo.yaml", f"bank: {REPO}/show_scripts/banks/demo.yaml")
        + f"grading: {{uncertain_timeout_s: {timeout_s}}}\n"
    )
    return load_script(path)


async def _controller(redis_url, show_id, script, autopilot=False) -> tuple[ShowController, aioredis.Redis]:
    client = aioredis.Redis.from_url(redis_url)
    pool = EnginePool({"local": object()}, {c.id: Route("local") for c in script.contestants})  # type: ignore[dict-item]
    controller = ShowController(script, EventLog(client, show_id), pool, autopilot=autopilot)  # stages wait for engines nobody starts
    await controller.open()
    return controller, client


def uncertain(question_id: str, contestant: str, extracted: str | None = "Paris or Lyon") -> ev.AnswerGraded:
    return ev.AnswerGraded(
        data=ev.AnswerGradedData(
            question_id=question_id,
            contestant=contestant,
            correct=None,
            extracted=extracted,
            expected="Paris",
            reason="hedges: “Paris” next to “or” another answer",
        )
    )


async def _an_uncertain_answer(c: ShowController, question_id: str = "demo-2", contestant: str = "smol") -> None:
    """What the stage publishes for one answer the grader cannot tell: asked, finished, graded uncertain."""
    await c.publish(asked(question_id))
    await c.publish(finished(question_id, contestant))
    await c.publish(uncertain(question_id, contestant))


def _commands(events: list, name: str) -> list[ev.DirectorCommandData]:
    return [e.data for e in events if isinstance(e, ev.DirectorCommand) and e.data.command == name]


def test_the_director_decides_an_uncertain_verdict_once_and_it_is_logged(redis_url, show_id, tmp_path):
    async def go():
        c, client = await _controller(redis_url, show_id, _script(tmp_path))
        who = c.script.contestants[0].id
        assert (await c.command("start", "s1", "director")).ok
        refused = await c.command("decide", "d0", "director", {"question_id": "demo-2", "contestant": who, "correct": True})
        assert not refused.ok and "nothing uncertain to decide" in refused.reason

        await _an_uncertain_answer(c, contestant=who)
        key = f"demo-2:{who}"
        assert c.state.uncertain[key]["stage"] == 0 and c.state.uncertain[key]["autodecide_ts"] is None  # no autopilot: no timer
        answer = c.state.answers[who]
        assert answer.uncertain and answer.correct is None and answer.grade_reason.startswith("hedges")
        assert c.state.results[0]["demo-2"][who].correct is None  # not counted either way yet

        for n, (bad, why) in enumerate(
            [
                ({"question_id": "demo-2", "contestant": who}, "correct: true"),
                ({"question_id": "demo-2", "contestant": who, "correct": "yes"}, "correct: true"),
                ({"contestant": who, "correct": True}, "question_id and contestant"),
            ]
        ):
            result = await c.command("decide", f"bad-{n}", "director", bad)
            assert not result.ok and why in result.reason
        decided = await c.command("decide", "d1", "director", {"question_id": "demo-2", "contestant": who, "correct": True})
        again = await c.command("decide", "d1", "director", {"question_id": "demo-2", "contestant": who, "correct": True})
        assert decided.ok and decided.changed and again == decided  # the same command_id acts once
        flipped = await c.command("decide", "d1", "director", {"question_id": "demo-2", "contestant": who, "correct": False})
        assert not flipped.ok and "already used for 'decide' with other args" in flipped.reason  # an id is bound to its args
        later = await c.command("decide", "d2", "director", {"question_id": "demo-2", "contestant": who, "correct": False})
        assert not later.ok and "nothing uncertain" in later.reason  # decided already

        assert key not in c.state.uncertain and c.state.results[0]["demo-2"][who].correct is True
        assert c.state.answers[who].decided_by == "director" and c.state.answers[who].correct is True
        events = [item.parse() for item in await c.log.read("director")]
        graded = [e.data for e in events if isinstance(e, ev.AnswerGraded)]
        assert [g.correct for g in graded] == [None, True] and graded[1].decided_by == "director"
        assert graded[1].reason.startswith("decided right by director (grader: hedges")
        assert [(d.by, d.accepted) for d in _commands(events, "decide")] == [
            ("director", False),
            ("director", False),
            ("director", False),
            ("director", False),
            ("director", True),
            ("director", False),
            ("director", False),
        ]
        board = [e.data for e in events if isinstance(e, ev.Scoreboard)][-1]  # the stage's count includes the decision
        assert next(r for r in board.rows if r.contestant == who).correct == 1
        await c.close()
        await client.aclose()

    run(go())


def test_autopilot_decides_wrong_after_the_scripts_timeout_and_a_restart_rearms_the_timer(redis_url, show_id, tmp_path):
    async def go():
        script = _script(tmp_path, timeout_s=0.6)
        c, client = await _controller(redis_url, show_id, script, autopilot=True)
        who = c.script.contestants[0].id
        for _ in range(100):  # autopilot starts the show by itself
            if c.state.status == "running":
                break
            await asyncio.sleep(0.05)
        await _an_uncertain_answer(c, "demo-2", who)
        stamped = c.state.uncertain[f"demo-2:{who}"]["autodecide_ts"]
        assert stamped is not None and 0.5 < stamped - c.clock() <= 0.6  # the panel counts down to this
        await c.close()  # the studio dies before the timer fires

        c, client2 = await _controller(redis_url, show_id, script, autopilot=True)
        assert f"demo-2:{who}" in c.state.uncertain
        for _ in range(100):
            if f"demo-2:{who}" not in c.state.uncertain:
                break
            await asyncio.sleep(0.05)
        assert c.state.results[0]["demo-2"][who].correct is False
        events = [item.parse() for item in await c.log.read("director")]
        decide = _commands(events, "decide")
        assert [(d.by, d.accepted, d.command_id) for d in decide] == [("autopilot", True, f"autopilot-decide-demo-2-{who}")]
        last = [e.data for e in events if isinstance(e, ev.AnswerGraded)][-1]
        assert last.decided_by == "autopilot" and "nobody decided within 0.6 s" in last.reason
        await c.close()
        await client.aclose()
        await client2.aclose()

    run(go())


def test_an_uncertain_verdict_rates_nothing_until_decided_even_after_its_question_closed():
    events = log(
        opened(),
        asked("q1"),
        finished("q1", "ada"),
        finished("q1", "bob"),
        uncertain("q1", "ada"),
        ev.AnswerGraded(data=ev.AnswerGradedData(question_id="q1", contestant="bob", correct=False, extracted="5", expected="4")),
        closed("q1"),
    )
    assert verdicts(matches_from_events(events, {})) == []  # bob's wrong answer meets nobody yet
    decided = log(
        *events,
        ev.AnswerGraded(
            data=ev.AnswerGradedData(question_id="q1", contestant="ada", correct=True, extracted="4", expected="4", decided_by="judge:li")
        ),
    )
    assert verdicts(matches_from_events(decided, {})) == [("accuracy", "ada", "bob", "q:0:q1")]


def test_the_export_keeps_who_decided_and_why():
    events = log(
        opened(),
        asked("q1"),
        finished("q1", "ada"),
        uncertain("q1", "ada"),
        finished("q1", "bob"),
        uncertain("q1", "bob"),
        ev.AnswerGraded(
            data=ev.AnswerGradedData(
                question_id="q1",
                contestant="ada",
                correct=False,
                extracted=None,
                expected="4",
                reason="decided wrong by director",
                decided_by="director",
            )
        ),
    )
    rows = {r["contestant"]: r for r in show_results(events)["answers"]}
    assert (rows["ada"]["correct"], rows["ada"]["decided_by"], rows["ada"]["grade_reason"]) == (
        False,
        "director",
        "decided wrong by director",
    )
    assert rows["bob"]["correct"] is None and rows["bob"]["grade_reason"].startswith("hedges")  # nobody decided it
