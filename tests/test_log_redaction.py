"""No secret in any log line: ``gavel serve`` as a process (real uvicorn, real Redis), every role
connected the ways its pages connect — tokens in WebSocket query strings, ``Bearer`` headers, a
judge's link, a phone's device token, a refused token, tokens rotated live — and every line it
wrote, in text (``--verbose``) and in JSON, searched for every secret it held."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect

from .conftest import free_port
from .fault_kit import write_replay_show
from .studio_harness import subprocess_env

REPO = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_every_role_connected_and_no_secret_in_the_log(tmp_path, log_format):
    script = write_replay_show(tmp_path / "show", tokens=8, tokens_per_s=200, questions=1, judges=("jo",))
    data_dir, port = tmp_path / "data", free_port()
    base, ws = f"http://127.0.0.1:{port}", f"ws://127.0.0.1:{port}"
    log_path = tmp_path / "studio.log"
    extra = ["--verbose"] if log_format == "text" else []
    proc = subprocess.Popen(
        [sys.executable, "-m", "studio.cli", "serve", str(script), "--data-dir", str(data_dir), "--port", str(port)]
        + ["--log-format", log_format, *extra],
        cwd=REPO,
        env=subprocess_env(),
        stdout=log_path.open("wb"),
        stderr=subprocess.STDOUT,
    )
    held: list[str] = []  # every secret the studio held at some point
    try:
        secrets = _wait_for_secrets(data_dir, proc, log_path)
        director, graphics, judge = secrets["director"], secrets["graphics"], secrets["judges"]["jo"]
        held += [director, graphics, judge, secrets["signing"]]
        _wait_ready(base, director, proc)

        with connect(f"{ws}/ws/director?since=0&token={director}", open_timeout=30) as feed:
            feed.recv(timeout=10)
            feed.send(json.dumps({"command": "start"}))
        # How the pages' client connects: the token in the handshake's subprotocols, not the URL.
        with connect(f"{ws}/ws/director?since=0", subprotocols=["gavel", f"gavel.token.{director}"], open_timeout=30) as feed:
            assert feed.subprotocol == "gavel" and feed.recv(timeout=10)
        for channel in ("program", "preview"):
            with connect(f"{ws}/ws/{channel}?since=0&token={graphics}&graphic=duel&client=cam-1", open_timeout=30) as feed:
                feed.recv(timeout=10)
        assert httpx.get(f"{base}/judge?token={judge}").status_code == 200
        assert httpx.get(f"{base}/api/judge/me", headers={"Authorization": f"Bearer {judge}"}).status_code == 200
        assert httpx.get(f"{base}/overlays/program.html?token={graphics}").status_code == 200
        assert httpx.get(f"{base}/figures/radar?token={graphics}").status_code < 500
        device = httpx.post(f"{base}/api/audience/device").json()["token"]
        held.append(device)
        httpx.get(f"{base}/api/polls/current", headers={"Authorization": f"Bearer {device}"})
        httpx.post(f"{base}/api/polls/nope/vote", json={"choice": "a"}, headers={"Authorization": f"Bearer {device}"})
        with pytest.raises((InvalidStatus, ConnectionClosed)):  # a refused socket is logged too
            with connect(f"{ws}/ws/director?since=0&token={graphics}", open_timeout=30) as feed:
                feed.recv(timeout=10)

        rotate = {"Authorization": f"Bearer {director}"}
        new_director = httpx.post(f"{base}/api/tokens/rotate", json={"role": "director"}, headers=rotate).json()["token"]
        new_judge = httpx.post(f"{base}/api/tokens/rotate", json={"role": "judge:jo"}, headers={"Authorization": f"Bearer {new_director}"})
        held += [new_director, new_judge.json()["token"]]
        httpx.post(f"{base}/api/tokens/rotate", json={"role": "devices"}, headers={"Authorization": f"Bearer {new_director}"})
        held.append(json.loads((data_dir / "secrets.json").read_text())["signing"])
        time.sleep(1.2)  # the studio re-reads secrets.json at most once a second
        with connect(f"{ws}/ws/director?since=0&token={new_director}", open_timeout=30) as feed:
            feed.recv(timeout=10)
        with pytest.raises((InvalidStatus, ConnectionClosed)):  # the old token, now refused
            with connect(f"{ws}/ws/director?since=0&token={director}", open_timeout=30) as feed:
                feed.recv(timeout=10)
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    log = log_path.read_text()
    assert len(set(held)) == len(held) == 8 and all(len(s) >= 20 for s in held)
    leaked = [f"{s[:4]}… (secret {i})" for i, s in enumerate(held) if s in log]
    assert not leaked, leaked
    # The lines were written (uvicorn logs each socket with its query string), only blanked:
    assert "/ws/director?since=0&token=[redacted]" in log, log[-3000:]
    assert "/ws/program?since=0&token=[redacted]&graphic=duel" in log
    if log_format == "json":
        lines = [line for line in log.splitlines() if line.startswith("{")]
        assert lines and all(json.loads(line)["message"] for line in lines)


def _wait_for_secrets(data_dir: Path, proc: subprocess.Popen, log_path: Path) -> dict:
    deadline = time.monotonic() + 60
    while not (data_dir / "secrets.json").exists():
        assert time.monotonic() < deadline and proc.poll() is None, log_path.read_text()[-3000:]
        time.sleep(0.2)
    return json.loads((data_dir / "secrets.json").read_text())


def _wait_ready(base: str, token: str, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        assert proc.poll() is None, "the studio exited during start-up"
        try:
            if httpx.get(f"{base}/api/state", headers={"Authorization": f"Bearer {token}"}, timeout=5).json().get("engines_ready"):
                return
        except (httpx.TransportError, ValueError):
            pass
        time.sleep(0.3)
    raise TimeoutError("the studio did not become ready")
