"""The spine, end to end on real parts: the demo show's speed Q&A on the real vLLM engine (CPU),
a real Redis, uvicorn on 127.0.0.1, WebSocket clients and the program overlay in Chromium.

One show is run per module (the engine takes ~30 s to load); each test checks one promise about it.
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright
from websockets.sync.client import connect

from stages.banks import load_bank
from stages.grading import grade
from studio.server.runtime import Studio
from studio.show.rundown import load_script

from .studio_harness import ARTIFACTS, CHROMIUM_ARGS, LiveStudio

REPO = Path(__file__).resolve().parent.parent
DEMO = REPO / "show_scripts" / "rehearsal.yaml"


@pytest.fixture(scope="module")
def show(tmp_path_factory):
    script = load_script(DEMO)
    studio = Studio(script, tmp_path_factory.mktemp("demo-data"))
    ARTIFACTS.mkdir(exist_ok=True)
    with LiveStudio(studio) as live, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1920, "height": 1080})
        page.goto(live.overlay("program.html"))
        live.wait_for_engines()

        refused = {
            "none": live.command("start", token=None),
            "wrong": live.command("start", token="not-the-token"),
        }
        state_after_refusals = live.state()

        steady, steady_thread = live.recorder("program")
        flaky, flaky_thread = live.recorder("program", drop_after_tokens=5)
        director, director_thread = live.recorder("director")

        first = live.command("start", command_id="press-1")
        repeated = live.command("start", command_id="press-1")
        again = live.command("start", command_id="press-2")
        # The director socket takes the same commands; its answers arrive as director.command events.
        with connect(f"{live.ws_base}/ws/director?since=0&token={live.director_token}") as ws:
            ws.send(json.dumps({"command": "pause", "command_id": "sock-1"}))
            ws.send(json.dumps({"command": "resume", "command_id": "sock-2"}))
            ws.send("not json")
        with connect(f"{live.ws_base}/ws/program?since=0&token={live.graphics_token}") as ws:
            ws.send(json.dumps({"command": "abort", "command_id": "graphics-1"}))  # read-only: ignored

        # The overlay shows tokens while the stage runs.
        page.wait_for_function(
            "() => [...document.querySelectorAll('[data-testid^=answer-text-]')].some(e => e.textContent.trim().length > 0)",
            timeout=120_000,
        )
        mid_stage_text = {
            el.get_attribute("data-testid"): el.text_content() for el in page.query_selector_all("[data-testid^=answer-text-]")
        }
        page.screenshot(path=str(ARTIFACTS / "program-streaming.png"), omit_background=True)

        for thread in (steady_thread, flaky_thread, director_thread):
            thread.join(timeout=300)
        page.wait_for_function("() => (document.querySelector('[data-testid=scoreboard-rows]')?.children.length || 0) >= 2", timeout=30_000)
        page.wait_for_timeout(800)  # let the scoreboard's transition finish before the screenshot
        scoreboard_text = page.text_content("[data-testid=scoreboard-rows]")
        page.screenshot(path=str(ARTIFACTS / "program-scoreboard.png"), omit_background=True)
        overlay_events = page.evaluate("() => window.__gavel.events.map(e => e.seq)")
        browser.close()
        yield {
            "script": script,
            "refused": refused,
            "state_after_refusals": state_after_refusals,
            "steady": steady,
            "flaky": flaky,
            "director": director,
            "first": first,
            "repeated": repeated,
            "again": again,
            "mid_stage_text": mid_stage_text,
            "scoreboard_text": scoreboard_text,
            "overlay_seqs": overlay_events,
            "final_state": live.state(),
        }


def test_the_show_completes(show):
    assert show["steady"].error is None, show["steady"].error
    assert show["final_state"]["show"]["status"] == "completed"
    assert [s["status"] for s in show["final_state"]["stages"]] == ["completed"]


def test_tokens_from_each_contestant_reach_a_websocket_client(show):
    tokens = defaultdict(int)
    for event in show["steady"].of_type("answer.token"):
        tokens[event["data"]["contestant"]] += 1
    contestants = [c.id for c in show["script"].contestants]
    assert set(tokens) == set(contestants)
    assert all(tokens[c] >= 3 for c in contestants), tokens  # real streaming, not one blob


def test_final_scores_match_the_grading_of_the_streamed_text(show):
    stage = show["script"].stages[0]
    bank = {q.id: q for q in load_bank(show["script"].resolve(stage.bank)).questions}
    streamed = defaultdict(str)
    for event in show["steady"].of_type("answer.token"):
        streamed[(event["data"]["question_id"], event["data"]["contestant"])] += event["data"]["text"]
    # The grader's verdicts (a later answer.graded with decided_by is a decision on an uncertain one).
    graded = [e for e in show["steady"].of_type("answer.graded") if not e["data"].get("decided_by")]
    assert len(graded) == stage.questions * len(show["script"].contestants)
    expected_correct = defaultdict(int)
    for event in graded:
        key = (event["data"]["question_id"], event["data"]["contestant"])
        verdict = grade(bank[key[0]], streamed[key])
        assert event["data"]["correct"] == verdict.correct, (key, streamed[key])
        assert event["data"]["extracted"] == verdict.extracted
        expected_correct[key[1]] += verdict.correct is True  # uncertain counts once decided (autopilot: wrong)
    finished = {(e["data"]["question_id"], e["data"]["contestant"]): e["data"]["text"] for e in show["steady"].of_type("answer.finished")}
    assert finished == dict(streamed)  # what went on air token by token is the whole answer
    final = show["steady"].of_type("scoreboard")[-1]["data"]["rows"]
    assert {r["contestant"]: r["correct"] for r in final} == dict(expected_correct) | {
        c.id: expected_correct.get(c.id, 0) for c in show["script"].contestants
    }
    for row in final:
        assert row["answered"] == stage.questions
        assert row["ttft_median"] is not None and row["ttft_median"] > 0
        assert row["e2e_median"] >= row["ttft_median"]


def test_a_client_dropped_mid_stage_ends_with_the_same_event_sequence(show):
    steady, flaky = show["steady"], show["flaky"]
    assert flaky.error is None, flaky.error
    assert flaky.reconnects == 1
    assert [e["seq"] for e in flaky.events] == [e["seq"] for e in steady.events]
    assert flaky.events == steady.events
    assert [e["seq"] for e in steady.events] == list(range(1, len(steady.events) + 1))


def test_the_overlay_showed_tokens_while_streaming_and_the_final_scoreboard(show):
    assert any(text.strip() for text in show["mid_stage_text"].values())
    for contestant in show["script"].contestants:
        assert contestant.name in show["scoreboard_text"]
    assert show["overlay_seqs"] == list(range(1, len(show["overlay_seqs"]) + 1))
    assert (ARTIFACTS / "program-scoreboard.png").stat().st_size > 10_000


def test_a_bad_director_token_is_refused_and_changes_nothing(show):
    assert show["director"].error is None, show["director"].error
    assert show["refused"]["none"].status_code == 401
    assert show["refused"]["wrong"].status_code == 403
    assert "token" in show["refused"]["wrong"].json()["error"]
    assert show["state_after_refusals"]["show"]["status"] == "idle"
    commands = show["director"].of_type("director.command")
    assert all(c["data"]["by"] == "director" for c in commands)
    assert [c["data"]["command_id"] for c in commands] == ["press-1", "press-2", "sock-1", "sock-2", "-"]


def test_the_director_socket_runs_commands_and_graphics_sockets_cannot(show):
    commands = {c["data"]["command_id"]: c["data"] for c in show["director"].of_type("director.command")}
    assert commands["sock-1"]["command"] == "pause" and commands["sock-1"]["accepted"]
    assert commands["sock-2"]["command"] == "resume" and commands["sock-2"]["accepted"]
    assert not commands["-"]["accepted"] and "not JSON" in commands["-"]["reason"]
    assert "graphics-1" not in commands
    statuses = [e["data"]["status"] for e in show["director"].of_type("show.status")]
    assert statuses == ["running", "paused", "running", "completed"]


def test_director_commands_are_idempotent(show):
    first, repeated, again = show["first"], show["repeated"], show["again"]
    assert first.status_code == 200 and first.json()["changed"] is True
    assert repeated.json() == first.json()  # same command_id: the first result, nothing redone
    assert again.status_code == 200 and again.json()["changed"] is False
    assert len(show["director"].of_type("stage.started")) == 1
