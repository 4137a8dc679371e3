"""Qualification with EvalScope against a real served endpoint, and its score on the leaderboard.

One vLLM OpenAI-compatible server (a child process) serves the base model and the demo's trained
adapter as a LoRA module; EvalScope's ``run_task`` scores both on the vendored sets (two items per
subset, to stay quick), and the results, appended to a show's log in a real Redis, come back out
of the leaderboard as the qualification dimension.
"""

from __future__ import annotations

import asyncio
import json

import pytest
import redis.asyncio as aioredis

from contestants.endpoint import ServedContestant
from contestants.prepared_adapters import prepare_adapter
from contestants.qualification import MCQ_SUBSETS, QA_SUBSETS, qualify
from contestants.show_events import ShowEvents
from core import events as ev
from engine_pool.model_files import resolve_model
from results.leaderboard import compute_leaderboard
from store.event_log import EventLog


@pytest.fixture(scope="module")
def qualified(tmp_path_factory):
    folder = tmp_path_factory.mktemp("qualify")
    with ServedContestant(resolve_model("smollm2-135m-instruct"), "cleo", prepare_adapter("bao-sft"), folder / "server.log") as served:
        return {
            "cleo": qualify(served.base_url, "cleo", folder / "cleo", limit=2),
            "base": qualify(served.base_url, "cleo-base", folder / "base", limit=2),
        }


def test_evalscope_scores_every_vendored_subset_and_keeps_its_report(qualified):
    for name, result in qualified.items():
        assert set(result.scores) == set(MCQ_SUBSETS + QA_SUBSETS)
        assert all(n == 2 for n in result.samples.values())
        assert all(0.0 <= s <= 1.0 for s in result.scores.values())
        report = json.loads((result.report_dir / "reports" / ("cleo" if name == "cleo" else "cleo-base") / "general_mcq.json").read_text())
        assert {s["name"] for c in report["metrics"][0]["categories"] for s in c["subsets"]} == set(MCQ_SUBSETS)
        predictions = result.report_dir / "predictions"
        assert len(list(predictions.rglob("*.jsonl"))) == len(MCQ_SUBSETS + QA_SUBSETS)


def test_the_adapter_was_what_answered(qualified):
    """The LoRA module, not the base, answered cleo's items: they differ from the base's."""
    answers = [
        json.loads(line)
        for path in (qualified["cleo"].report_dir / "predictions").rglob("*gsm8k_style.jsonl")
        for line in path.read_text().splitlines()
    ]
    base = [
        json.loads(line)
        for path in (qualified["base"].report_dir / "predictions").rglob("*gsm8k_style.jsonl")
        for line in path.read_text().splitlines()
    ]
    texts = lambda rows: [r["messages"][-1]["content"] for r in rows]  # noqa: E731
    assert texts(answers) != texts(base)


def test_scores_reach_the_leaderboard_through_the_show_log(qualified, redis_url, show_id):
    opened = ev.ShowOpened(
        data=ev.ShowOpenedData(
            show_id=show_id,
            title="Q",
            stages=[],
            contestants=[ev.ContestantInfo(id="cleo", name="Cleo"), ev.ContestantInfo(id="base", name="Base")],
        )
    )
    with ShowEvents(redis_url, show_id) as events:
        events.publish(opened)
        for contestant, result in qualified.items():
            events.publish(
                ev.QualificationResult(
                    data=ev.QualificationResultData(
                        contestant=contestant, scores=result.scores, score=result.score, samples=8, report=str(result.report_dir)
                    )
                ),
                channels=ev.DIRECTOR_ONLY,
            )

    async def read():
        client = aioredis.Redis.from_url(redis_url)
        try:
            return [item.parse() for item in await EventLog(client, show_id).read("director")]
        finally:
            await client.aclose()

    logged = asyncio.run(read())
    assert [e.type for e in logged] == ["show.opened", "qualification.result", "qualification.result"]
    board = compute_leaderboard(logged, {"qualification": 1.0}, {}, bootstrap_rounds=20)
    rows = {row.contestant: row for row in board.rows}
    assert all(rows[c].dimensions["qualification"].matches == 1 for c in ("cleo", "base"))
    cleo, base = qualified["cleo"].score, qualified["base"].score
    if abs(cleo - base) > 0.01:
        better = "cleo" if cleo > base else "base"
        assert board.rows[0].contestant == better
    else:
        assert rows["cleo"].rating == rows["base"].rating
