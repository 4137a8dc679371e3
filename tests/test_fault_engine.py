"""Fault: a vLLM engine that hangs, then crashes, mid-answer, on a real studio.

Ada answers on a real vLLM engine (SmolLM2 on the CPU), Bao on the replay engine. Mid-answer the
vLLM engine's processes are frozen (SIGSTOP: a hung engine) — Ada's answer ends as a timeout at
the time limit while Bao's finishes in full. With the next question asked, the engine core is
killed (SIGKILL: a crashed engine) — Ada's answer ends as a DNF saying the engine died, Bao's
finishes. Each time the director gets an ``engine.fault`` event at once, and the next
stage runs (Ada DNFs at once on the dead engine; Bao answers) to the end of the show.
"""

from __future__ import annotations

import os
import signal
import threading
import time

import psutil
import yaml
from websockets.sync.client import connect

from core.events import frame_events
from studio.server.runtime import Studio
from studio.show.rundown import load_script

from .fault_kit import BANK
from .studio_harness import LiveStudio

BAO_TOKENS = 30
# Long enough that a crashed core is noticed well within it even on a loaded 2-core machine (the
# crash must end the answer as a DNF, not run into the limit), short enough for the hang drill.
TIME_LIMIT_S = 20


def _script(folder) -> object:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "recording.yaml").write_text(yaml.safe_dump({"answers": [{"tokens": ["5", *[f" w{i}" for i in range(BAO_TOKENS - 1)]]}]}))
    round_ = {
        "kind": "speed_qa",
        "bank": str(BANK),
        "time_limit_s": TIME_LIMIT_S,
        "prompt": "Tell a long story, five paragraphs at least, about this question: {question}",
        "sampling": {"max_tokens": 300},
    }
    script = {
        "show": {"id": "engine-faults", "title": "Engine faults"},
        "engines": {
            "local": {"kind": "vllm", "kv_cache_gib": 0.5},
            "tape": {"kind": "replay", "file": "recording.yaml", "tokens_per_s": 20},
        },
        "contestants": [
            {
                "id": "ada",
                "name": "Ada",
                "engine": "local",
                "system_prompt": "You are a storyteller. You always write long, detailed stories.",
            },
            {"id": "bao", "name": "Bao", "engine": "tape"},
        ],
        "stages": [{**round_, "title": "Round 1", "questions": 2}, {**round_, "title": "Round 2", "questions": 1}],
    }
    (folder / "show.yaml").write_text(yaml.safe_dump(script, sort_keys=False))
    return load_script(folder / "show.yaml")


def vllm_processes() -> list[psutil.Process]:
    """The engine core (and any worker) vLLM spawned from this process: named VLLM::…"""
    return [p for p in psutil.Process().children(recursive=True) if p.name().startswith("VLLM") or "VLLM::" in " ".join(p.cmdline())]


def wait_until(live: LiveStudio, predicate, timeout_s: float = 120, what: str = "") -> dict:
    deadline = time.monotonic() + timeout_s
    while True:
        state = live.state()
        if predicate(state):
            return state
        assert time.monotonic() < deadline, f"timed out waiting for {what}: {state['question']} {state['answers']} {state['stages']}"
        time.sleep(0.03)


def wait_for_event(events: list[dict], predicate, timeout_s: float = 120, what: str = "") -> dict:
    deadline = time.monotonic() + timeout_s
    while True:
        found = next((e for e in list(events) if predicate(e)), None)
        if found is not None:
            return found
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)


def ada(kind: str, question_id: str):
    return lambda e: e["type"] == kind and e["data"]["question_id"] == question_id and e["data"]["contestant"] == "ada"


def test_engine_hang_and_crash_mid_answer_end_that_answer_and_the_show_goes_on(tmp_path):
    studio = Studio(_script(tmp_path / "show"), tmp_path / "data")
    director: list[dict] = []
    with LiveStudio(studio) as live:
        live.wait_for_engines()
        core = [p for p in vllm_processes() if "EngineCore" in p.name() or "EngineCore" in " ".join(p.cmdline())]
        assert core, [p.name() for p in psutil.Process().children(recursive=True)]

        def follow() -> None:
            with connect(f"{live.ws_base}/ws/director?token={live.director_token}", open_timeout=30) as ws:
                while not director or director[-1]["type"] != "show.status" or director[-1]["data"]["status"] != "completed":
                    director.extend(frame_events(ws.recv(timeout=180)))

        follower = threading.Thread(target=follow, daemon=True)
        follower.start()
        assert live.post_command("start").json()["ok"]

        # A hang: the engine frozen mid-answer (it stays frozen: a hung engine does not come back).
        wait_for_event(director, lambda e: ada("answer.token", "demo-1")(e) and e["data"]["index"] >= 2, what="ada streaming demo-1")
        frozen = vllm_processes()
        for p in frozen:
            p.send_signal(signal.SIGSTOP)
        hung_at = time.monotonic()
        asked = time.monotonic()
        assert live.state()["show"]["status"] == "running"  # the panel still gets its state at once
        state_while_hung = time.monotonic() - asked
        wait_for_event(director, ada("answer.finished", "demo-1"), what="ada's hung answer to end")
        hang_to_end = time.monotonic() - hung_at

        # A crash: the engine core killed with the next answer in flight.
        wait_for_event(director, ada("answer.started", "demo-2"), what="ada asked demo-2")
        time.sleep(0.5)
        os.kill(core[0].pid, signal.SIGKILL)
        crashed_at = time.monotonic()
        for p in frozen:  # the rest may now notice their core is gone, and exit
            if p.pid != core[0].pid and p.is_running():
                p.send_signal(signal.SIGCONT)
        wait_for_event(director, ada("answer.finished", "demo-2"), what="ada's crashed answer to end")
        crash_to_dnf = time.monotonic() - crashed_at

        wait_until(live, lambda s: s["stages"][0]["status"] == "completed", what="round 1 to end")
        assert live.post_command("next").json()["ok"]
        state = wait_until(live, lambda s: s["show"]["status"] == "completed", what="the show to complete")
        follower.join(timeout=60)

    results = state["results"]
    assert results["0"]["demo-1"]["ada"]["status"] == "timeout"
    assert results["0"]["demo-2"]["ada"]["status"] == "dnf"
    assert results["1"]["demo-1"]["ada"]["status"] == "dnf"
    for stage, question in (("0", "demo-1"), ("0", "demo-2"), ("1", "demo-1")):
        bao = results[stage][question]["bao"]
        assert bao["status"] == "done" and bao["tokens"] == BAO_TOKENS, bao
    assert [s["status"] for s in state["stages"]] == ["completed", "completed"]
    assert state["engines"] == {"local": False, "tape": True}
    faults = [
        (e["data"]["question_id"], e["data"]["contestant"], e["data"]["status"], e["data"]["engine"])
        for e in director
        if e["type"] == "engine.fault"
    ]
    assert faults == [("demo-1", "ada", "timeout", "local"), ("demo-2", "ada", "dnf", "local"), ("demo-1", "ada", "dnf", "local")]
    crash = next(e["data"] for e in director if e["type"] == "engine.fault" and e["data"]["question_id"] == "demo-2")
    assert "local" in crash["reason"]
    print(
        f"\nengine hang: ada's answer ended as a timeout {hang_to_end:.1f} s after the freeze (limit {TIME_LIMIT_S} s), /api/state "
        f"answered in {state_while_hung:.1f} s meanwhile; "
        f"engine crash: DNF {crash_to_dnf:.2f} s after kill -9 ({crash['reason'][:80]}); bao finished all 3; next stage ran"
    )
