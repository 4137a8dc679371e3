"""Posting contestants' events (training progress, qualification) into a running show's log.

Training and qualification run outside the studio, so they append to the show's event log in
Redis directly, as every studio process does: the director's panel, the graphics and the
leaderboard then see them like any other event. A show's embedded Redis listens on
``<data dir>/redis.sock``; a shared one is named by ``REDIS_URL``.
"""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

from core import events as ev
from store.embedded_redis import socket_path_for
from store.event_log import EventLog
from store.redis_client import connect


def show_redis_url(data_dir: Path | None, redis_url: str | None) -> str | None:
    if redis_url:
        return redis_url
    if data_dir is not None and socket_path_for(data_dir).exists():
        return f"unix://{socket_path_for(data_dir)}"
    return None


class ShowEvents:
    """Appends events to one show's log from synchronous code (the CLI, a training loop).

    The Redis client lives on a private event loop in its own thread, so the caller may be plain
    synchronous code or code that already runs a loop of its own (a browser test, a notebook).
    """

    def __init__(self, redis_url: str, show_id: str, timeout_s: float = 10.0):
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="show-events", daemon=True)
        self._thread.start()
        self._client = connect(redis_url)
        self.log = EventLog(self._client, show_id)
        self.timeout_s = timeout_s

    def publish(self, event: ev.Event, channels=ev.ON_AIR) -> dict[str, int]:
        return asyncio.run_coroutine_threadsafe(self.log.append(event, channels), self._loop).result(self.timeout_s)

    def close(self) -> None:
        asyncio.run_coroutine_threadsafe(self.log.close(), self._loop).result(self.timeout_s)
        asyncio.run_coroutine_threadsafe(self._client.aclose(), self._loop).result(self.timeout_s)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        self._loop.close()

    def __enter__(self) -> "ShowEvents":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
