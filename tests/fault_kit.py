"""What the fault tests share: a cheap deterministic show (the replay engine streams recorded
tokens, no model) and a real studio process (``python -m studio.cli serve``) to kill and restart.
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
import redis
import yaml

from store.embedded_redis import redis_server_binary

from .conftest import free_port
from .studio_harness import subprocess_env

REPO = Path(__file__).resolve().parent.parent
BANK = REPO / "show_scripts" / "banks" / "demo.yaml"
GAVEL = [sys.executable, "-m", "studio.cli"]


def write_replay_show(
    folder: Path,
    show_id: str = "faults",
    tokens: int = 60,
    tokens_per_s: float = 100.0,
    questions: int = 3,
    stages: int = 2,
    judges: tuple[str, ...] = (),
    extra_engines: dict | None = None,
    contestants: list[dict] | None = None,
) -> Path:
    """A show of ``stages`` speed-Q&A stages whose contestants stream ``tokens`` recorded tokens
    per answer at ``tokens_per_s``: long and exactly repeatable, at no model's cost."""
    folder.mkdir(parents=True, exist_ok=True)
    words = [f" w{i}" for i in range(tokens - 4)]
    (folder / "recording.yaml").write_text(yaml.safe_dump({"answers": [{"tokens": ["The", " answer", " is", " 5", *words]}]}))
    script = {
        "show": {"id": show_id, "title": "Fault drill", "autopilot_pause_s": 0.2},
        "engines": {"tape": {"kind": "replay", "file": "recording.yaml", "tokens_per_s": tokens_per_s}, **(extra_engines or {})},
        "contestants": contestants or [{"id": "ada", "name": "Ada", "engine": "tape"}, {"id": "bao", "name": "Bao", "engine": "tape"}],
        "stages": [
            {
                "kind": "speed_qa",
                "title": f"Round {i + 1}",
                "bank": str(BANK),
                "questions": questions,
                "sampling": {"max_tokens": tokens},
                "time_limit_s": 60,
            }
            for i in range(stages)
        ],
    }
    # Every test phone comes from 127.0.0.1, like a whole audience behind one carrier NAT: no
    # per-network caps (tests/test_ballot_limits.py sets its own).
    script["audience"] = {
        "devices_per_s_per_ip": 1000,
        "device_burst_per_ip": 1000,
        "votes_per_s_per_ip": 5000,
        "burst_per_ip": 5000,
        "devices_per_min_per_ip": 100_000,
        "votes_per_ip_per_poll": 0,
    }
    if judges:
        script["judging"] = {"criteria": {"accuracy": "accuracy"}, "judges": [{"id": j, "name": j.title()} for j in judges]}
    path = folder / "show.yaml"
    path.write_text(yaml.safe_dump(script, sort_keys=False))
    return path


class StudioProcess:
    """``gavel serve`` as a real process on a free port (own session, so kill -9 hits only it)."""

    def __init__(self, script: Path, data_dir: Path, port: int | None = None, args: tuple[str, ...] = (), env: dict | None = None):
        self.script, self.data_dir = script, data_dir
        self.port = port or free_port()
        self.base, self.ws_base = f"http://127.0.0.1:{self.port}", f"ws://127.0.0.1:{self.port}"
        self.args, self.env = args, env
        self.log_path = data_dir.parent / f"studio-{self.port}.log"
        self.proc: subprocess.Popen | None = None

    def start(self, timeout_s: float = 120) -> "StudioProcess":
        env = {**subprocess_env(), **(self.env or {})}
        self.proc = subprocess.Popen(
            [*GAVEL, "serve", str(self.script), "--data-dir", str(self.data_dir), "--port", str(self.port), *self.args],
            cwd=REPO,
            env=env,
            stdout=self.log_path.open("ab"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout_s
        while True:
            assert self.proc.poll() is None, f"the studio exited during start-up:\n{self.log()}"
            assert time.monotonic() < deadline, f"the studio did not come up:\n{self.log()}"
            try:
                if httpx.get(f"{self.base}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        self.wait_engines()
        return self

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:] if self.log_path.exists() else ""

    @property
    def secrets(self) -> dict:
        return json.loads((self.data_dir / "secrets.json").read_text())

    @property
    def director(self) -> str:
        return self.secrets["director"]

    @property
    def graphics(self) -> str:
        return self.secrets["graphics"]

    def auth(self, token: str | None = None) -> dict:
        return {"Authorization": f"Bearer {token or self.director}"}

    def state(self) -> dict:
        return httpx.get(f"{self.base}/api/state", headers=self.auth(), timeout=10).json()

    def wait_engines(self, timeout_s: float = 300) -> None:
        deadline = time.monotonic() + timeout_s
        while not (self.state().get("follower") or self.state()["engines_ready"]):  # a follower has no engines
            assert time.monotonic() < deadline, "engines did not start"
            time.sleep(0.2)

    def command(self, name: str, args: dict | None = None, command_id: str | None = None) -> httpx.Response:
        body = {"command": name, "args": args or {}, **({"command_id": command_id} if command_id else {})}
        return httpx.post(f"{self.base}/api/command", json=body, headers=self.auth(), timeout=30)

    def wait_for(self, predicate, timeout_s: float = 60, what: str = "the studio state") -> dict:
        deadline = time.monotonic() + timeout_s
        while True:
            state = self.state()
            if predicate(state):
                return state
            assert time.monotonic() < deadline, f"timed out waiting for {what}: {state.get('show')}"
            time.sleep(0.1)

    def kill9(self) -> None:
        """SIGKILL to the studio process alone, as a crash would (its embedded Redis follows it)."""
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait()

    def stop(self) -> None:
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait()


class ExternalRedis:
    """A redis-server of our own on a TCP port: what ``REDIS_URL`` would point at."""

    def __init__(self, folder):
        self.folder, self.port = folder, free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen(
            [
                redis_server_binary(),
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--dir",
                str(self.folder),
                "--appendonly",
                "yes",
                "--appendfsync",
                "everysec",
                "--save",
                "",
                "--logfile",
                str(self.folder / "redis.log"),
            ],
            stdin=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while True:
            try:
                redis.Redis.from_url(self.url).ping()
                return
            except redis.exceptions.ConnectionError:
                assert time.monotonic() < deadline, "the external redis did not start"
                time.sleep(0.05)

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
