"""``gavel export`` and ``gavel replay`` on a real show's log.

A short show is played on a real studio (uvicorn, embedded Redis in its data dir, the replay
engine's tokens): two questions, a judge's score, an audience verdict poll with votes, the
leaderboard, the fairness records. Then the studio is stopped and, as real processes:

- ``gavel export DATA_DIR`` writes the right rows: every answer with its grade, the judge's
  score, each choice's final count, the last leaderboard, a fairness record per answer.
- ``gavel replay DATA_DIR --speed 2`` re-emits every channel's events into a fresh show id — the
  same seqs, types and data (wall-clock fields moved with the clock) — at the original relative
  timing divided by the speed, within a tolerance, measured at a WebSocket client.
- The duel graphic in real Chromium, following the replay, ends with the state the original
  program channel folds to (answers, grades, scoreboard, leaderboard, graphics), and the replay
  server takes no commands.
"""

from __future__ import annotations

import csv
import json
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
import yaml
from playwright.sync_api import sync_playwright
from websockets.sync.client import connect

from core.events import frame_events
from core.state import ShowState
from store.show_log import read_show
from studio.server.replay import WALL_CLOCK_FIELDS
from studio.server.runtime import Studio
from studio.show.rundown import load_script

from .conftest import free_port, run
from .studio_harness import ARTIFACTS, CHROMIUM_ARGS, LiveStudio, subprocess_env

REPO = Path(__file__).resolve().parent.parent
GAVEL = [sys.executable, "-m", "studio.cli"]

SHOW = """
show: {id: tape-show, title: "Replay me", autopilot_pause_s: 0}
engines:
  tape: {kind: replay, file: tape.yaml, tokens_per_s: 10}
contestants:
  - {id: ada, name: Ada, engine: tape}
  - {id: bao, name: Bao, engine: tape}
judging:
  criteria: {accuracy: accuracy}
  judges: [{id: li, name: Judge Li}]
stages:
  - kind: speed_qa
    title: Quick round
    bank: bank.yaml
    questions: 2
    time_limit_s: 20
    sampling: {max_tokens: 16, seed: 5}
"""
TAPE = {
    "answers": [
        {"contestant": "ada", "match": "France", "tokens": ["The", " capital", " is", " Paris", "."]},
        {"contestant": "bao", "match": "France", "tokens": ["It", " is", " Lyon", "."]},
        {"match": "plus", "tokens": ["2", " plus", " 2", " is", " 4", "."]},
    ]
}
BANK = {
    "name": "b",
    "questions": [
        {"id": "q-fr", "question": "What is the capital of France?", "kind": "exact", "answer": "Paris"},
        {"id": "q-add", "question": "What is 2 plus 2?", "kind": "numeric", "answer": "4"},
    ],
}
SPEED = 2.0


@pytest.fixture(scope="module")
def played(tmp_path_factory):
    """The show's data dir after the studio has stopped."""
    tmp = tmp_path_factory.mktemp("tape-show")
    (tmp / "tape.yaml").write_text(yaml.safe_dump(TAPE))
    (tmp / "bank.yaml").write_text(yaml.safe_dump(BANK))
    (tmp / "show.yaml").write_text(SHOW)
    data_dir = tmp / "data"
    with LiveStudio(Studio(load_script(tmp / "show.yaml"), data_dir)) as live:
        live.wait_for_engines()
        director, thread = live.recorder("director")
        assert live.command("start").json()["changed"]
        thread.join(timeout=120)
        assert director.error is None, director.error
        # A pause before the judge and the poll, so every channel's log spans more than
        # 2 s however fast the machine played the tape (the replay test times that span).
        time.sleep(2.5)
        live.call(lambda: live.studio.controller.judges.score("li", "answer:0:q-fr:ada", {"accuracy": 9}))
        opened = live.post_command(
            "poll_open", {"poll": "verdict", "title": "Who explained best?", "choices": ["ada", "bao"], "dimension": "creativity"}
        )
        assert opened.json()["ok"], opened.text
        for choice in ("ada", "ada", "bao"):
            phone = httpx.post(f"{live.base}/api/audience/device").json()["token"]
            voted = httpx.post(f"{live.base}/api/polls/verdict/vote", json={"choice": choice}, headers={"Authorization": f"Bearer {phone}"})
            assert voted.status_code == 200, voted.text
        assert live.post_command("poll_close", {"poll": "verdict"}).json()["ok"]
        deadline = time.monotonic() + 20  # the leaderboard follows the poll's result
        while not (live.state()["leaderboard"] or {}).get("rows") or live.state()["leaderboard"]["matches"] < 3:
            assert time.monotonic() < deadline, "no leaderboard"
            time.sleep(0.1)
        time.sleep(1.0)  # the last leaderboard is published
    return data_dir


def test_export_writes_the_shows_results(played, tmp_path):
    out = tmp_path / "out"
    result = subprocess.run(
        [*GAVEL, "export", str(played), "--out", str(out)], cwd=REPO, env=subprocess_env(), capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    names = {Path(line).name for line in result.stdout.split()}
    assert names == {"results.json", "answers.csv", "judges.csv", "votes.csv", "leaderboard.csv", "fairness.csv"}
    rows = lambda name: list(csv.DictReader((out / f"{name}.csv").open(encoding="utf-8")))  # noqa: E731

    answers = {(r["question_id"], r["contestant"]): r for r in rows("answers")}
    assert sorted(answers) == [("q-add", "ada"), ("q-add", "bao"), ("q-fr", "ada"), ("q-fr", "bao")]
    assert answers[("q-fr", "ada")]["text"] == "The capital is Paris." and answers[("q-fr", "ada")]["correct"] == "True"
    assert answers[("q-fr", "bao")]["correct"] == "False" and answers[("q-fr", "bao")]["expected"] == "Paris"
    assert answers[("q-add", "bao")]["text"] == "2 plus 2 is 4." and answers[("q-add", "bao")]["correct"] == "True"
    assert all(
        r["status"] == "done" and r["stage"] == "0" and float(r["ttft_s"]) > 0 and r["output_tokens"] in ("4", "5", "6")
        for r in answers.values()
    )
    assert answers[("q-fr", "ada")]["question"] == "What is the capital of France?"

    assert rows("judges") == [
        {
            "judge": "li",
            "target": "answer:0:q-fr:ada",
            "stage": "0",
            "item": "0:q-fr",
            "contestant": "ada",
            "criterion": "accuracy",
            "score": "9",
        }
    ]
    votes = {r["choice"]: r for r in rows("votes")}
    assert {c: v["votes"] for c, v in votes.items()} == {"ada": "2", "bao": "1"}
    assert votes["ada"]["winner"] == "ada" and votes["ada"]["total"] == "3" and votes["ada"]["dimension"] == "creativity"

    board = rows("leaderboard")
    assert [r["contestant"] for r in sorted(board, key=lambda r: int(r["rank"]))][0] == "ada"  # right twice, and the audience's pick
    assert {"accuracy_rating", "creativity_rating", "creativity_matches"} <= set(board[0])
    assert int(next(r for r in board if r["contestant"] == "ada")["creativity_matches"]) == 1

    fairness = rows("fairness")
    assert sorted((r["question_id"], r["contestant"]) for r in fairness) == sorted(answers)
    assert all(
        r["engine"] == "tape" and r["seed"] == "5" and r["queue_wait_source"] == "first_token" and r["flagged"] == "False" for r in fairness
    )

    results = json.loads((out / "results.json").read_text())
    assert results["show"] == {"show_id": "tape-show", "title": "Replay me", "status": "completed"}
    assert len(results["answers"]) == 4 and results["leaderboard"]["rows"]


def test_export_names_a_missing_show(tmp_path):
    result = subprocess.run([*GAVEL, "export", str(tmp_path)], cwd=REPO, env=subprocess_env(), capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "no event log here" in result.stderr


def _serving(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200
    except httpx.TransportError:
        return False


def _follow(url: str, expected: int, into: list, stop_at: float) -> None:
    with connect(url, open_timeout=30) as ws:
        while len(into) < expected and time.monotonic() < stop_at:
            frame = ws.recv(timeout=max(0.1, stop_at - time.monotonic()))
            received = time.monotonic()
            into.extend((event, received) for event in frame_events(frame))


def _start_replay(played: Path, replay_dir: Path, port: int, *options: str) -> subprocess.Popen:
    proc = subprocess.Popen(
        [*GAVEL, "replay", str(played), "--port", str(port), "--data-dir", str(replay_dir), *options],
        cwd=REPO,
        env=subprocess_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while not _serving(port):
        assert proc.poll() is None, proc.stderr.read()
        assert time.monotonic() < deadline, "no replay server"
        time.sleep(0.1)
    return proc


def test_replay_re_emits_every_channel_at_its_pace(played, tmp_path):
    original = run(read_show(str(played)))
    assert original.show_id == "tape-show"
    port = free_port()
    replay_dir = tmp_path / "replay"
    proc = _start_replay(played, replay_dir, port, "--speed", str(SPEED), "--as", "tape-again", "--lead-in", "4", "--exit-when-done")
    tokens = json.loads((replay_dir / "secrets.json").read_text())
    assert httpx.get(f"http://127.0.0.1:{port}/overlays/program.html").status_code == 200  # the graphics are served
    got: dict[str, list] = {"program": [], "director": []}
    stop_at = time.monotonic() + 120
    followers = [
        threading.Thread(
            target=_follow,
            args=(
                f"ws://127.0.0.1:{port}/ws/{channel}?since=0&token={tokens[role]}",
                len(original.channels[channel]),
                got[channel],
                stop_at,
            ),
        )
        for channel, role in (("program", "graphics"), ("director", "director"))
    ]
    for follower in followers:
        follower.start()
    for follower in followers:
        follower.join(timeout=130)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 0, stderr
    assert "Replaying show 'tape-show' as 'tape-again'" in stdout

    for channel, received in got.items():
        before = [item.parse().model_dump(mode="json") for item in original.channels[channel]]
        after = [event for event, _ in received]
        assert [e["seq"] for e in after] == [e["seq"] for e in before], channel
        assert [e["type"] for e in after] == [e["type"] for e in before], channel
        first_before, first_after = before[0]["ts"], after[0]["ts"]
        shifted = lambda t, a=first_after, b=first_before: a + (t - b) / SPEED  # noqa: E731
        for b, a in zip(before, after):
            assert a["ts"] == pytest.approx(shifted(b["ts"]), abs=1e-3), (channel, b["type"])
            moved = {f: shifted(b["data"][f]) for f in WALL_CLOCK_FIELDS if isinstance(b["data"].get(f), (int, float))}
            assert {k: (pytest.approx(v, abs=1e-3) if k in moved else v) for k, v in a["data"].items()} == {**b["data"], **moved}
        # The pace: every event arrived at its original offset / SPEED (the client was connected
        # during the lead-in, so it got them all live).
        (anchor, anchor_at) = received[0]
        span = (before[-1]["ts"] - before[0]["ts"]) / SPEED
        assert span > 1.0, f"{channel}: too short a show to time ({span:.2f} s)"
        late = [abs((at - anchor_at) - (event["ts"] - anchor["ts"])) for event, at in received]
        assert max(late) < 0.25, f"{channel}: worst timing error {max(late):.3f} s over {span:.1f} s"


def test_the_duel_graphic_renders_the_replay_as_it_rendered_the_show(played, tmp_path):
    original = ShowState()
    for item in run(read_show(str(played))).channels["program"]:
        original.apply(item.parse())
    expected = original.to_dict()
    port = free_port()
    proc = _start_replay(played, tmp_path / "replay", port, "--speed", "8", "--lead-in", "3")
    try:
        tokens = json.loads((tmp_path / "replay" / "secrets.json").read_text())
        ARTIFACTS.mkdir(exist_ok=True)
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1920, "height": 1080})
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.goto(f"http://127.0.0.1:{port}/overlays/program.html?token={tokens['graphics']}")
            page.wait_for_function("() => window.__gavel && window.__gavel.connected", timeout=30_000)
            page.wait_for_function(
                f"() => __gavel.client.state.leaderboard && __gavel.client.state.leaderboard.through_seq === {expected['leaderboard']['through_seq']}",
                timeout=60_000,
            )
            shown = page.evaluate("() => JSON.parse(JSON.stringify(__gavel.client.state))")
            page.wait_for_timeout(500)
            page.screenshot(path=str(ARTIFACTS / "replay-duel.png"), omit_background=True)
            browser.close()
        assert not errors, errors
        for key in ("answers", "scoreboard", "leaderboard", "graphics", "polls", "judged"):
            assert shown[key] == expected[key], key
        assert shown["show"]["status"] == "completed" and shown["answers"]["ada"]["text"] == "2 plus 2 is 4."
        # Watch-only: the director's command API is not there, and a command on the director feed changes nothing.
        refused = httpx.post(f"http://127.0.0.1:{port}/api/command", json={"command": "start"})
        assert refused.status_code == 404 and refused.json() == {"error": "Not Found"}
        with connect(f"ws://127.0.0.1:{port}/ws/director?token={tokens['director']}") as ws:
            ws.send(json.dumps({"command": "abort", "command_id": "replay-abort-1"}))
            ws.recv(timeout=10)  # the log replays; nothing is appended
        assert len(run(read_show(str(tmp_path / "replay"))).director) == len(run(read_show(str(played))).director)
    finally:
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130 and "Traceback" not in stderr, stderr  # Ctrl-C, as uvicorn re-raises it after a clean stop
