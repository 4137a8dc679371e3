"""The fairness audit: every answer's record (engine, hardware, sampling, adapter, queue wait,
concurrent load) as an ``answer.fairness`` event, and the flag on a contestant who answered under
measurably worse conditions than the others.

- The rules (stages/fairness.py) on records built by hand: a longer scheduler queue wait and a
  busier engine are flagged; equal conditions, a TTFT standing in for the wait and an answer with
  no token are not.
- On a real studio (uvicorn, Redis, the replay engine): two contestants share one engine, the third
  has one to itself; the shared two are flagged for load, on the director channel, in the
  director's panel and on the on-air duel graphic (real Chromium), the third is not.
The vLLM path (the scheduler's own queue wait) is checked in tests/test_vllm_engine.py.
"""

from __future__ import annotations

import asyncio
import time

import pytest
import yaml
from playwright.sync_api import sync_playwright

from engine_pool.base import Chunk, GenerationRequest, Sampling
from engine_pool.hardware import Hardware
from engine_pool.pool import AnswerConditions, EnginePool, Route
from stages.fairness import fairness_events, flags_for
from studio.server.runtime import Studio
from studio.show.rundown import load_script

from .conftest import run
from .studio_harness import ARTIFACTS, CHROMIUM_ARGS, LiveStudio

CPU = Hardware("cpu", "Test CPU", 2)


def conditions(wait: float | None, load_max: int = 1, source: str = "scheduler", engine: str = "local") -> AnswerConditions:
    return AnswerConditions(
        engine=engine,
        hardware=CPU,
        sampling=Sampling(seed=7),
        adapter=None,
        queue_wait_s=wait,
        queue_wait_source=source if wait is not None else "none",
        load_at_start=0,
        load_max=load_max,
    )


def test_equal_conditions_flag_nobody():
    assert flags_for({"ada": conditions(0.01), "bao": conditions(0.02), "cyd": conditions(0.015)}) == {"ada": [], "bao": [], "cyd": []}


def test_a_long_scheduler_queue_wait_is_flagged():
    flags = flags_for({"ada": conditions(0.02), "bao": conditions(0.9), "cyd": conditions(0.03)})
    assert flags["ada"] == [] and flags["cyd"] == []
    assert flags["bao"] == ["queue wait 0.90 s against 0.03 s for the others"]
    # Longer, but within the slack: not measurably worse.
    assert flags_for({"ada": conditions(0.02), "bao": conditions(0.2)})["bao"] == []


def test_a_ttft_standing_in_for_the_wait_is_never_flagged():
    flags = flags_for({"ada": conditions(0.05, source="first_token"), "bao": conditions(3.0, source="first_token")})
    assert flags == {"ada": [], "bao": []}


def test_a_busier_engine_is_flagged_and_no_token_is_not_compared():
    flags = flags_for(
        {
            "ada": conditions(0.01, load_max=2),
            "bao": conditions(0.01, load_max=2),
            "cyd": conditions(0.01, load_max=0, engine="solo"),
            "dee": conditions(None, load_max=0),
        }
    )
    assert flags["ada"] == flags["bao"] == ["ran beside 2 other answers on local; another contestant beside 0"]
    assert flags["cyd"] == [] and flags["dee"] == []


def test_the_events_carry_the_whole_record():
    (ada, bao) = fairness_events(3, "q9", {"ada": conditions(0.01), "bao": conditions(0.8)})
    assert ada.data.stage == 3 and ada.data.question_id == "q9" and ada.data.compared_with == ["bao"] and not ada.data.flagged
    assert bao.data.flagged and bao.data.flags and bao.data.queue_wait_s == 0.8 and bao.data.queue_wait_source == "scheduler"
    assert bao.data.hardware.model_dump() == {"device": "cpu", "name": "Test CPU", "count": 2}
    assert bao.data.sampling.seed == 7 and bao.data.sampling.max_tokens == 64


class OtherClockEngine:
    """An engine core on another node (vLLM over Ray: not runnable on this one machine) reports its
    scheduling time on its own monotonic clock, here 100 s off this machine's."""

    name = "far"

    async def start(self) -> None:
        pass

    async def stream(self, request: GenerationRequest):
        await asyncio.sleep(0.05)
        yield Chunk("Paris", 1, scheduled_at=time.monotonic() + 100)
        yield Chunk(".", 1)

    async def healthy(self) -> bool:
        return True

    async def close(self) -> None:
        pass


def test_a_scheduling_time_on_another_clock_is_not_taken_for_a_queue_wait():
    pool = EnginePool({"far": OtherClockEngine()}, {"ada": Route("far")})
    answer = run(pool.answer("ada", [{"role": "user", "content": "?"}], Sampling(), time_limit_s=5))
    assert answer.status == "done" and answer.text == "Paris."
    assert answer.conditions.queue_wait_source == "first_token" and answer.conditions.queue_wait_s == answer.metrics.ttft
    assert answer.conditions.hardware == Hardware("unknown", "unknown", 0)  # it does not say


SHOW = """
show: {id: fair, title: "Fairness", autopilot_pause_s: 0}
engines:
  shared: {kind: replay, file: tape.yaml, tokens_per_s: 8}
  solo: {kind: replay, file: tape.yaml, tokens_per_s: 8}
contestants:
  - {id: ada, name: Ada, engine: shared}
  - {id: bao, name: Bao, engine: shared}
  - {id: cyd, name: Cyd, engine: solo}
stages:
  - kind: speed_qa
    title: One question
    bank: bank.yaml
    questions: 1
    time_limit_s: 20
    sampling: {temperature: 0.0, top_p: 0.9, max_tokens: 16, seed: 42}
"""


@pytest.fixture(scope="module")
def show(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("fair")
    (tmp / "tape.yaml").write_text(yaml.safe_dump({"answers": [{"tokens": ["Par", "is", "."]}]}))
    bank = {"name": "b", "questions": [{"id": "q1", "question": "Capital of France?", "kind": "exact", "answer": "Paris"}]}
    (tmp / "bank.yaml").write_text(yaml.safe_dump(bank))
    (tmp / "show.yaml").write_text(SHOW)
    ARTIFACTS.mkdir(exist_ok=True)
    with LiveStudio(Studio(load_script(tmp / "show.yaml"), tmp / "data")) as live, sync_playwright() as pw:
        live.wait_for_engines()
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        panel = browser.new_page(viewport={"width": 1920, "height": 1080})
        panel.goto(f"{live.base}/director#token={live.director_token}")
        panel.wait_for_function("() => window.__director && window.__director.canOperate()", timeout=30_000)
        duel = browser.new_page(viewport={"width": 1920, "height": 1080})
        duel.goto(live.overlay("program.html?channel=program"))
        duel.wait_for_function("() => window.__gavel && window.__gavel.connected", timeout=30_000)
        director, thread = live.recorder("director")
        assert live.command("start").json()["changed"]
        thread.join(timeout=120)
        assert director.error is None, director.error
        yield {"live": live, "director": director, "panel": panel, "duel": duel}
        browser.close()


def test_every_answer_has_its_record_on_the_director_channel(show):
    records = {e["data"]["contestant"]: e["data"] for e in show["director"].of_type("answer.fairness")}
    assert sorted(records) == ["ada", "bao", "cyd"]
    finished = {e["data"]["contestant"]: e for e in show["director"].of_type("answer.finished")}
    for contestant, record in records.items():
        assert record["question_id"] == "q1" and record["stage"] == 0
        assert record["engine"] == ("solo" if contestant == "cyd" else "shared")
        assert record["hardware"] == {"device": "none", "name": "replay (recorded tokens, no model)", "count": 0}
        assert record["sampling"] == {"temperature": 0.0, "top_p": 0.9, "max_tokens": 16, "seed": 42, "stop": [], "logprobs": None}
        assert record["adapter"] is None
        # The replay engine reports no scheduling time: the TTFT stands in for the wait.
        assert record["queue_wait_source"] == "first_token"
        assert record["queue_wait_s"] == pytest.approx(finished[contestant]["data"]["metrics"]["ttft"], abs=1e-3)
        assert record["compared_with"] == sorted({"ada", "bao", "cyd"} - {contestant})
        # After its answer ended (the group's records follow the last answer).
        assert max(e["seq"] for e in finished.values()) < next(
            e["seq"] for e in show["director"].of_type("answer.fairness") if e["data"]["contestant"] == contestant
        )
    assert (records["ada"]["load_max"], records["bao"]["load_max"], records["cyd"]["load_max"]) == (1, 1, 0)
    assert records["ada"]["load_at_start"] + records["bao"]["load_at_start"] == 1  # one of them went first
    assert records["ada"]["flagged"] and records["bao"]["flagged"] and not records["cyd"]["flagged"]
    assert records["ada"]["flags"] == ["ran beside 1 other answer on shared; another contestant beside 0"]


def test_the_director_panel_shows_the_records_and_the_flag(show):
    panel = show["panel"]
    panel.wait_for_function("() => document.querySelector('[data-testid=fairness-cyd]').textContent.length > 0", timeout=15_000)
    ada = panel.text_content("[data-testid=fairness-ada]")
    cyd = panel.text_content("[data-testid=fairness-cyd]")
    assert ada.startswith("⚠ WORSE CONDITIONS: ran beside 1 other answer on shared") and "seed 42" in ada
    assert panel.get_attribute("[data-testid=fairness-ada]", "data-flagged") == "true"
    assert cyd.startswith("fair: solo · none replay") and "load 0→0" in cyd and "(≤ TTFT)" in cyd
    assert panel.get_attribute("[data-testid=fairness-cyd]", "data-flagged") == "false"


def test_the_duel_graphic_marks_the_flagged_contestants_on_air(show):
    duel, live = show["duel"], show["live"]
    duel.wait_for_function("() => document.querySelector('[data-testid=fair-ada]').textContent.length > 0", timeout=15_000)
    # The scoreboard took over at the end of the question: the operator brings the answers back.
    assert live.post_command("cue", {"graphic": "duel", "visible": True, "data": {"view": "answers"}}).json()["ok"]
    assert live.post_command("take").json()["ok"]
    duel.wait_for_selector("[data-testid=fair-ada]", state="visible", timeout=15_000)
    assert duel.text_content("[data-testid=fair-ada]").startswith("⚠ Worse conditions: ran beside 1 other")
    assert duel.is_visible("[data-testid=fair-bao]")
    duel.wait_for_timeout(1500)  # the columns' entry transitions
    duel.screenshot(path=str(ARTIFACTS / "graphic-duel-fairness.png"), omit_background=True)
    assert duel.text_content("[data-testid=fair-cyd]") == "" and not duel.is_visible("[data-testid=fair-cyd]")
    assert duel.evaluate("() => document.querySelector('[data-testid=answer-text-ada]').closest('.col').dataset.flagged") == "true"
