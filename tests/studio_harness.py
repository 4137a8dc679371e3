"""Run a real studio (uvicorn on 127.0.0.1) in a background thread, and talk to it like a client."""

from __future__ import annotations

import asyncio
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import uvicorn
from websockets.sync.client import connect

from core.events import frame_events
from engine_pool.pool import EnginePool
from studio.server.app import create_app, server_config
from studio.server.runtime import Studio

from .conftest import free_port

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"


def engineless_pool() -> EnginePool:
    """A real pool with no engines: for tests of the studio's own surfaces (polls, judges, pages)
    that never run a stage. It is ready at once; a stage that asked it would get no route."""
    return EnginePool({}, {})


class LiveStudio:
    def __init__(self, studio: Studio):
        self.studio = studio
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.ws_base = f"ws://127.0.0.1:{self.port}"
        config = server_config(create_app(studio), "127.0.0.1", self.port, ws_ping_interval=None)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name="uvicorn", daemon=True)

    def __enter__(self) -> "LiveStudio":
        self.thread.start()
        deadline = time.monotonic() + 60
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the studio did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=60)

    def call(self, make_coro, timeout_s: float = 30):
        """Run ``make_coro()`` on the studio's own event loop (e.g. publish events a test needs)."""
        return asyncio.run_coroutine_threadsafe(make_coro(), self.studio.loop).result(timeout_s)

    def post_command(self, name: str, args: dict | None = None, command_id: str | None = None) -> httpx.Response:
        body = {"command": name, "args": args or {}}
        if command_id:
            body["command_id"] = command_id
        headers = {"Authorization": f"Bearer {self.director_token}"}
        return httpx.post(f"{self.base}/api/command", json=body, headers=headers, timeout=30)

    @property
    def director_token(self) -> str:
        return self.studio.tokens.director

    @property
    def graphics_token(self) -> str:
        return self.studio.tokens.graphics

    def token_for(self, channel: str) -> str | None:
        """The least role that may follow ``channel`` (as a graphics page or a phone would)."""
        return {"director": self.director_token, "program": self.graphics_token, "preview": self.graphics_token}.get(channel)

    def overlay(self, page: str) -> str:
        """An on-air page's URL, with the graphics token the way CasparCG/OBS would load it."""
        sep = "&" if "?" in page else "?"
        return f"{self.base}/overlays/{page}{sep}token={self.graphics_token}"

    def recorder(self, channel: str, **kwargs) -> tuple["Recording", threading.Thread]:
        """Follow ``channel`` with its role's token until the show ends (see record_until_show_ends)."""
        kwargs.setdefault("token", self.token_for(channel))
        return start_recorder(self.ws_base, channel, **kwargs)

    def command(self, name: str, command_id: str | None = None, token: str | None = "director") -> httpx.Response:
        headers = {}
        if token == "director":
            headers["Authorization"] = f"Bearer {self.director_token}"
        elif token is not None:
            headers["Authorization"] = f"Bearer {token}"
        body = {"command": name}
        if command_id:
            body["command_id"] = command_id
        return httpx.post(f"{self.base}/api/command", json=body, headers=headers, timeout=30)

    def state(self) -> dict:
        response = httpx.get(f"{self.base}/api/state", headers={"Authorization": f"Bearer {self.director_token}"}, timeout=30)
        response.raise_for_status()
        return response.json()

    def wait_for_engines(self, timeout_s: float = 300) -> None:
        deadline = time.monotonic() + timeout_s
        while not self.state()["engines_ready"]:
            if time.monotonic() > deadline:
                raise TimeoutError("engines did not load")
            time.sleep(0.5)
        errors = self.state()["engine_errors"]
        assert not errors, errors


@dataclass
class Recording:
    """Every event one WebSocket client accepted, in order."""

    events: list[dict] = field(default_factory=list)
    reconnects: int = 0
    error: BaseException | None = None

    def of_type(self, kind: str) -> list[dict]:
        return [e for e in self.events if e["type"] == kind]


def record_until_show_ends(
    ws_base: str,
    channel: str,
    recording: Recording,
    drop_after_tokens: int | None = None,
    timeout_s: float = 300,
    token: str | None = None,
) -> None:
    """Follow a channel until show.status completed/aborted. With ``drop_after_tokens`` the client
    hangs up once, mid-stream, and reconnects with its last seq, as an overlay would."""
    deadline = time.monotonic() + timeout_s
    dropped = False
    try:
        while True:
            since = recording.events[-1]["seq"] if recording.events else 0
            auth = f"&token={token}" if token else ""
            with connect(f"{ws_base}/ws/{channel}?since={since}{auth}", open_timeout=30) as ws:
                tokens_seen = 0
                while True:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        raise TimeoutError(f"show did not end within {timeout_s}s on {channel}")
                    for event in frame_events(ws.recv(timeout=remaining)):
                        recording.events.append(event)
                        if event["type"] == "answer.token":
                            tokens_seen += 1
                        if event["type"] == "show.status" and event["data"]["status"] in ("completed", "aborted"):
                            return
                        if drop_after_tokens and not dropped and tokens_seen >= drop_after_tokens:
                            break  # the rest of this frame comes again after the reconnect
                    if drop_after_tokens and not dropped and tokens_seen >= drop_after_tokens:
                        dropped = True
                        recording.reconnects += 1
                        break  # leaves the with-block: the socket closes mid-stage
            time.sleep(0.3)  # events keep flowing while this client is away
    except BaseException as exc:  # surfaced by the test that reads the recording
        recording.error = exc


def start_recorder(ws_base: str, channel: str, **kwargs) -> tuple[Recording, threading.Thread]:
    recording = Recording()
    thread = threading.Thread(target=record_until_show_ends, args=(ws_base, channel, recording), kwargs=kwargs, daemon=True)
    thread.start()
    return recording, thread


def subprocess_env() -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("VLLM_PLUGINS", "")
    env.setdefault("VLLM_CPU_NUM_OF_RESERVED_CPU", "0")
    return env
