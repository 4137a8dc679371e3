"""The judges' desk over HTTP on a real studio: each judge scores each answer once, only as
themselves, on the script's criteria; scores land in the log and move the leaderboard, and a
studio restarted on the same log computes the same leaderboard. No LLM: answers are published
as events directly, as the stage would publish them."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx
import pytest
import redis.asyncio as aioredis

from core import events as ev
from engine_pool.pool import EnginePool
from store.event_log import EventLog
from studio.server.runtime import Studio
from studio.show.controller import ShowController
from studio.show.rundown import load_script

from .studio_harness import LiveStudio, engineless_pool

REPO = Path(__file__).resolve().parent.parent
JUDGING = """
judging:
  criteria: {accuracy: accuracy, creativity: creativity}
  judges:
    - {id: li, name: Judge Li}
    - {id: mo, name: Judge Mo}
"""


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("judges")
    text = (REPO / "show_scripts/rehearsal.yaml").read_text().replace("bank: banks/", f"bank: {REPO}/show_scripts/banks/")
    (tmp / "show.yaml").write_text(text + JUDGING)
    with LiveStudio(Studio(load_script(tmp / "show.yaml"), tmp / "data", pool=engineless_pool())) as studio:
        publish = studio.studio.controller.publish
        events = [
            ev.QuestionAsked(
                data=ev.QuestionAskedData(
                    stage=0,
                    number=1,
                    of=1,
                    question_id="q1",
                    text="Why is the sky blue?",
                    kind="open",
                    time_limit_s=30,
                    deadline_ts=time.time() + 30,
                )
            ),
            *[
                ev.AnswerFinished(
                    data=ev.AnswerFinishedData(
                        question_id="q1", contestant=c, status="done", text=t, metrics=ev.AnswerMetrics(e2e=1.0, output_tokens=5)
                    )
                )
                for c, t in (("ada", "Rayleigh scattering"), ("bao", "<b>Because</b>"))
            ],
            ev.QuestionClosed(data=ev.QuestionClosedData(stage=0, question_id="q1")),
        ]
        for event in events:
            studio.call(lambda e=event: publish(e))
        yield studio


def _score(live, token, body) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.post(f"{live.base}/api/judge/score", json=body, headers=headers, timeout=10)


def test_a_judge_sees_what_there_is_to_score(live):
    token = live.studio.tokens.judges["li"]
    me = httpx.get(f"{live.base}/api/judge/me", headers={"Authorization": f"Bearer {token}"}).json()
    assert me == {"judge": "li", "name": "Judge Li", "criteria": ["accuracy", "creativity"], "scale": [1, 10]}
    targets = httpx.get(f"{live.base}/api/judge/targets", headers={"Authorization": f"Bearer {token}"}).json()["targets"]
    by_contestant = {t["contestant"]: t for t in targets}
    assert by_contestant["bao"]["answer"] == "<b>Because</b>" and by_contestant["bao"]["question"] == "Why is the sky blue?"
    assert by_contestant["ada"]["target"] == "answer:0:q1:ada" and by_contestant["ada"]["scored"] is None


def test_scores_once_as_oneself_and_bad_scores_say_why(live):
    li, mo = live.studio.tokens.judges["li"], live.studio.tokens.judges["mo"]
    ada = "answer:0:q1:ada"
    refused = {
        "no token": (_score(live, None, {"target": ada, "scores": {"accuracy": 5, "creativity": 5}}), 401, "judge token required"),
        "not a judge": (_score(live, "made-up", {"target": ada, "scores": {"accuracy": 5, "creativity": 5}}), 403, "not a judge"),
        "director": (_score(live, live.director_token, {"target": ada, "scores": {"accuracy": 5, "creativity": 5}}), 403, "not a judge"),
        "for another": (_score(live, li, {"judge": "mo", "target": ada, "scores": {"accuracy": 5, "creativity": 5}}), 403, "another judge"),
        "unknown criterion": (_score(live, li, {"target": ada, "scores": {"accuracy": 5, "creativity": 5, "charm": 9}}), 400, "charm"),
        "missing criterion": (_score(live, li, {"target": ada, "scores": {"accuracy": 5}}), 400, "missing creativity"),
        "out of range": (_score(live, li, {"target": ada, "scores": {"accuracy": 11, "creativity": 5}}), 400, "scores.accuracy"),
        "not a number": (_score(live, li, {"target": ada, "scores": {"accuracy": "7", "creativity": 5}}), 400, "scores.accuracy"),
        "no such answer": (
            _score(live, li, {"target": "answer:0:q9:ada", "scores": {"accuracy": 5, "creativity": 5}}),
            404,
            "no finished answer",
        ),
        "bad target": (_score(live, li, {"target": "poem", "scores": {"accuracy": 5, "creativity": 5}}), 400, "target"),
    }
    for name, (response, status, reason) in refused.items():
        assert response.status_code == status, (name, response.text)
        assert reason in response.json()["error"], (name, response.text)
    oversized = httpx.post(f"{live.base}/api/judge/score", content=b"{" + b" " * 5000 + b"}", headers={"Authorization": f"Bearer {li}"})
    assert oversized.status_code == 413
    assert live.state()["judged"] == {}  # none of that was recorded

    first = _score(live, li, {"target": ada, "scores": {"accuracy": 9, "creativity": 8}})
    assert first.status_code == 200 and first.json()["scored"]["judge"] == "li"
    twice = _score(live, li, {"target": ada, "scores": {"accuracy": 1, "creativity": 1}})
    assert twice.status_code == 409 and "already scored" in twice.json()["error"]
    assert _score(live, mo, {"target": ada, "scores": {"accuracy": 4, "creativity": 4}}).status_code == 200
    assert live.state()["judged"][ada] == {"li": {"accuracy": 9, "creativity": 8}, "mo": {"accuracy": 4, "creativity": 4}}


def test_judges_verdicts_move_the_leaderboard_and_a_restart_recomputes_the_same(live, redis_url):
    li = live.studio.tokens.judges["li"]
    for target, scores in (("ada", {"accuracy": 9, "creativity": 8}), ("bao", {"accuracy": 3, "creativity": 2})):
        # 409 where the test above already recorded this score (same values): either way it is in the log
        assert _score(live, li, {"target": f"answer:0:q1:{target}", "scores": scores}).status_code in (200, 409)
    deadline = time.monotonic() + 10
    while True:
        board = live.state()["leaderboard"]
        if board and board["rows"][0]["dimensions"]["creativity"]["matches"] >= 1:
            break
        assert time.monotonic() < deadline, f"no leaderboard with the judge's verdict: {board}"
        time.sleep(0.2)
    rows = {r["contestant"]: r for r in board["rows"]}
    assert rows["ada"]["dimensions"]["creativity"]["rating"] > rows["bao"]["dimensions"]["creativity"]["rating"]
    assert rows["ada"]["rank"] == 1

    # A second controller on the same log (what a restarted studio does) gets the same board and
    # publishes nothing new.
    async def reopen():
        client = aioredis.Redis.from_url(live.studio.redis_server.url if live.studio.redis_server else redis_url)
        log = EventLog(client, live.studio.script.show.id)
        before = await log.last_seq("director")
        again = ShowController(live.studio.script, log, EnginePool({}, {}))
        await again.open()
        await asyncio.sleep(1.0)
        after = await log.last_seq("director")
        board_again = again.state.leaderboard
        await again.close()
        await client.aclose()
        return before, after, board_again

    before, after, board_again = live.call(reopen)
    assert after == before and board_again == live.state()["leaderboard"]
