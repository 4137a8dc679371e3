"""The CLI as an operator uses it, as real processes: ``gavel serve`` killed with SIGKILL mid-stage
and restarted resumes the same stage; ``gavel demo --headless --summary`` plays the demo to the end;
``gavel grade`` grades a responses file.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
from websockets.sync.client import connect

from core.events import frame_events

from .conftest import free_port
from .studio_harness import subprocess_env

REPO = Path(__file__).resolve().parent.parent
GAVEL = [sys.executable, "-m", "studio.cli"]

SCRIPT = """\
show:
  id: restart
  title: Restart test
engines:
  local:
    kind: vllm
    kv_cache_gib: 0.5
  unplugged:  # nothing listens there: its contestant must DNF without stopping the show
    kind: openai
    base_url: http://127.0.0.1:9/v1
    model: nobody
    timeout_s: 2
contestants:
  - {id: ada, name: Ada, engine: local}
  - {id: bao, name: Bao, engine: local}
  - {id: cyd, name: Cyd, engine: unplugged}
stages:
  - kind: speed_qa
    title: Lightning  # a time limit no answer can meet
    bank: BANK
    questions: 1
    time_limit_s: 0.01
    sampling: {max_tokens: 200}
  - kind: speed_qa
    title: Main round
    bank: BANK
    questions: 5
    sampling: {max_tokens: 24}
"""


def _start_studio(script: Path, data_dir: Path, port: int, log_path: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [*GAVEL, "serve", str(script), "--data-dir", str(data_dir), "--port", str(port)],
        cwd=REPO,
        env=subprocess_env(),
        stdout=log_path.open("ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,  # so the test can clean up the engine's workers too
    )


def _wait_ready(base: str, token: str, proc: subprocess.Popen, timeout_s: float = 300) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        assert proc.poll() is None, "the studio exited during start-up"
        try:
            state = httpx.get(f"{base}/api/state", headers={"Authorization": f"Bearer {token}"}, timeout=5).json()
            if state.get("engines_ready"):
                assert list(state["engine_errors"]) in ([], ["unplugged"]), state["engine_errors"]
                return
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    raise TimeoutError("the studio did not become ready")


def _director_events(ws_base: str, token: str, since: int, until, timeout_s: float = 240) -> list[dict]:
    """Follow the director channel from ``since`` until ``until(event)`` is true."""
    events = []
    deadline = time.monotonic() + timeout_s
    with connect(f"{ws_base}/ws/director?since={since}&token={token}", open_timeout=30) as ws:
        while True:
            for event in frame_events(ws.recv(timeout=max(0.1, deadline - time.monotonic()))):
                events.append(event)
                if until(event):
                    return events


def _kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait()


def test_kill_9_mid_stage_then_restart_resumes_the_same_stage(tmp_path):
    script = tmp_path / "show.yaml"
    script.write_text(SCRIPT.replace("BANK", str(REPO / "show_scripts/banks/demo.yaml")))
    data_dir, port = tmp_path / "data", free_port()
    base, ws_base = f"http://127.0.0.1:{port}", f"ws://127.0.0.1:{port}"
    log_path = tmp_path / "studio.log"
    first = _start_studio(script, data_dir, port, log_path)
    try:
        deadline = time.monotonic() + 60
        while not (data_dir / "secrets.json").exists():
            assert time.monotonic() < deadline and first.poll() is None, log_path.read_text()[-3000:]
            time.sleep(0.2)
        token = json.loads((data_dir / "secrets.json").read_text())["director"]
        _wait_ready(base, token, first)
        assert httpx.post(f"{base}/api/command", json={"command": "start"}, headers={"Authorization": f"Bearer {token}"}).status_code == 200
        # Let the warm-up finish, advance, and let the main round get one question in.
        before = _director_events(ws_base, token, 0, lambda e: e["type"] == "stage.ended" and e["data"]["index"] == 0)
        assert httpx.post(f"{base}/api/command", json={"command": "next"}, headers={"Authorization": f"Bearer {token}"}).json()["changed"]
        before += _director_events(ws_base, token, before[-1]["seq"], lambda e: e["type"] == "question.closed" and e["data"]["stage"] == 1)
        os.kill(first.pid, signal.SIGKILL)  # the studio process only, as a crash would
        first.wait()
    finally:
        _kill_group(first)

    second = _start_studio(script, data_dir, port, log_path)
    try:
        _wait_ready(base, token, second)
        after = _director_events(
            ws_base, token, before[-1]["seq"], lambda e: e["type"] == "show.status" and e["data"]["status"] == "completed"
        )
        state = httpx.get(f"{base}/api/state", headers={"Authorization": f"Bearer {token}"}).json()
    finally:
        _kill_group(second)

    # The same log continues: no seq reset, no gap.
    seqs = [e["seq"] for e in before + after]
    assert seqs == list(range(1, len(seqs) + 1))
    # The main round carried on where it was: it was not restarted from its first question and
    # no stage was started again.
    closed_before = [e["data"]["question_id"] for e in before if e["type"] == "question.closed" and e["data"]["stage"] == 1]
    asked_after = [e["data"]["question_id"] for e in after if e["type"] == "question.asked"]
    assert closed_before and not set(closed_before) & set(asked_after)
    assert not [e for e in after if e["type"] == "stage.started"]
    assert [s["status"] for s in state["stages"]] == ["completed", "completed"]
    assert sorted(state["closed_questions"]["1"]) == ["demo-1", "demo-2", "demo-3", "demo-4", "demo-5"]
    final = {row["contestant"]: row for row in [e for e in after if e["type"] == "scoreboard"][-1]["data"]["rows"]}
    assert all(row["answered"] == 5 for row in final.values())
    # The unplugged engine's contestant DNFs every answer; the others are unaffected.
    assert final["cyd"]["dnf"] == 5 and final["cyd"]["correct"] == 0
    assert final["ada"]["dnf"] == 0 and final["bao"]["dnf"] == 0
    first_stage = before[: next(i for i, e in enumerate(before) if e["type"] == "stage.ended")]
    lightning = {e["data"]["contestant"]: e["data"] for e in first_stage if e["type"] == "answer.finished"}
    assert lightning["ada"]["status"] == lightning["bao"]["status"] == "timeout"
    assert lightning["cyd"]["status"] == "dnf" and "127.0.0.1:9" in lightning["cyd"]["reason"]
    assert state["engines"] == {"local": True, "unplugged": False}
    # The crashed studio's embedded Redis went with it (PR_SET_PDEATHSIG), so the restart replayed the AOF.
    assert "Redis version" in (data_dir / "redis.log").read_text() and (data_dir / "appendonly.aof").exists()


def test_demo_headless_writes_a_summary_and_exits_0(tmp_path):
    summary = tmp_path / "summary.json"
    result = subprocess.run(
        [
            *GAVEL,
            "demo",
            "--headless",
            "--summary",
            str(summary),
            "--port",
            str(free_port()),
            "--data-dir",
            str(tmp_path / "d"),
            "--script",
            str(REPO / "show_scripts/rehearsal.yaml"),
        ],
        cwd=REPO,
        env=subprocess_env(),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    data = json.loads(summary.read_text())
    assert data["status"] == "completed"
    assert set(data["contestants"]) == {"ada", "bao"}
    for row in data["contestants"].values():
        assert row["questions_answered"] == 3
        assert row["tokens_streamed"] > 0
        assert 0.0 <= row["accuracy"] <= 1.0
        assert row["ttft_median_s"] > 0 and row["e2e_median_s"] >= row["ttft_median_s"]
    assert data["cold_start_to_first_token_s"] > 0
    (stage,) = data["stages"]
    assert stage["kind"] == "speed_qa" and stage["status"] == "completed"
    assert {c: len(texts) for c, texts in stage["answers"].items()} == {"ada": 3, "bao": 3}
    assert data["engine_errors"] == {}


def test_grade_prints_one_verdict_per_response(tmp_path):
    responses = tmp_path / "responses.json"
    responses.write_text(
        json.dumps(
            [{"id": "demo-1", "text": "The answer is 5."}, {"id": "demo-2", "text": "London"}, {"id": "demo-2", "text": "Paris or London"}]
        )
    )
    result = subprocess.run([*GAVEL, "grade", str(REPO / "show_scripts/banks/demo.yaml"), str(responses)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    verdicts = [json.loads(line) for line in result.stdout.splitlines()]
    assert [{k: v for k, v in verdict.items() if k != "reason"} for verdict in verdicts] == [
        {"id": "demo-1", "correct": True, "extracted": "5"},
        {"id": "demo-2", "correct": False, "extracted": "London"},
        {"id": "demo-2", "correct": None, "extracted": "Paris or London"},  # uncertain: null
    ]
    assert verdicts[1]["reason"] == "does not name “Paris” (took “London”)"
    assert verdicts[2]["reason"].startswith("hedges: “Paris”")
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps([{"id": "nope", "text": "x"}]))
    result = subprocess.run([*GAVEL, "grade", str(REPO / "show_scripts/banks/demo.yaml"), str(bad)], capture_output=True, text=True)
    assert result.returncode == 2 and "nope" in result.stderr
