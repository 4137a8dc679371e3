"""Posting contestants' events (training progress, qualification) into a running show's log.

Training and qualification run outside the studio, so they append to the show's event log in
Redis directly, as every studio process does: the director's panel, the graphics and the
leaderboard then see them like any other event. A show's embedded Redis listens on
``<data dir>/redis.sock``; a shared one is named by ``REDIS_URL``.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import redis.asyncio as aioredis

from studio import events as ev
from studio.event_log import EventLog


def show_redis_url(data_dir: Path | None, redis_url: str | None) -> str | None:
    if redis_url:
        return redis_url
    if data_dir is not None and (Path(data_dir) / "redis.sock").exists():
        return f"unix://{Path(data_dir).resolve() / 'redis.sock'}"
    return None


class ShowEvents:
    """Appends events to one show's log from synchronous code (the CLI, a training loop)."""

    def __init__(self, redis_url: str, show_id: str):
        self._loop = asyncio.new_event_loop()
        self._client = aioredis.Redis.from_url(redis_url)
        self.log = EventLog(self._client, show_id)

    def publish(self, event: ev.Event, channels=ev.ON_AIR) -> dict[str, int]:
        return self._loop.run_until_complete(self.log.append(event, channels))

    def close(self) -> None:
        self._loop.run_until_complete(self._client.aclose())
        self._loop.close()

    def __enter__(self) -> "ShowEvents":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
