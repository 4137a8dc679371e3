"""Open a show's event log after the fact (``gavel replay``, ``gavel export``).

A show is named by its data dir (``data/<show id>``, as ``gavel serve`` makes it) or by its show
id. Its log is in the Redis the studio used: ``REDIS_URL`` when set, else the embedded server in
the data dir. If that server is still running (the studio is up), it is used as it is; otherwise
it is started on the data dir's AOF for the time of the reading and stopped after. The show id is
the one whose log the Redis holds (the data dir's own show; with several, name it).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import AsyncIterator

import redis
import redis.asyncio as aioredis

from core.events import CHANNELS

from .embedded_redis import EmbeddedRedis, socket_path_for
from .event_log import EventLog, LoggedEvent
from .redis_client import connect


class ShowNotFound(Exception):
    pass


@dataclass
class ShowLog:
    show_id: str
    channels: dict[str, list[LoggedEvent]]  # every channel's events, in seq order

    @property
    def director(self) -> list[LoggedEvent]:
        """Everything that happened (every event goes to the director channel too)."""
        return self.channels["director"]


def _locate(target: str) -> tuple[Path | None, str | None]:
    """(data dir or None, show id or None) from what the operator typed; a data dir comes back
    absolute (an embedded redis-server started in it runs with its own working directory)."""
    path = Path(target).expanduser()
    if path.is_dir():
        return path.resolve(), None
    default = Path("data") / target
    if default.is_dir():
        return default.resolve(), target
    return None, target


def _running_socket(data_dir: Path) -> str | None:
    sock = socket_path_for(data_dir)
    if not sock.exists():
        return None
    client = redis.Redis(unix_socket_path=str(sock), socket_timeout=2)
    try:
        client.ping()
        return f"unix://{sock}"
    except (redis.ConnectionError, redis.TimeoutError, OSError):
        return None
    finally:
        client.close()


@contextlib.asynccontextmanager
async def _redis_for(data_dir: Path | None) -> AsyncIterator[aioredis.Redis]:
    url, server = os.environ.get("REDIS_URL"), None
    if not url:
        if data_dir is None:
            raise ShowNotFound("no such data dir, and REDIS_URL is not set: name the show's data dir (e.g. data/<show id>)")
        url = await asyncio.to_thread(_running_socket, data_dir)
        if url is None:
            if not (data_dir / "appendonlydir").exists() and not (data_dir / "appendonly.aof").exists():
                raise ShowNotFound(f"{data_dir}: no event log here (no embedded Redis data)")
            server = EmbeddedRedis(data_dir)
            url = await asyncio.to_thread(server.start)
    client = connect(url)
    try:
        yield client
    finally:
        await client.aclose()
        if server is not None:
            await asyncio.to_thread(server.stop)


async def _show_ids(client: aioredis.Redis) -> list[str]:
    ids = set()
    async for key in client.scan_iter(match="gavel:{*}:seq:director", count=1000):
        key = key.decode() if isinstance(key, bytes) else key
        ids.add(key[len("gavel:{") : key.index("}:seq:director")])
    return sorted(ids)


async def read_show(target: str, show_id: str | None = None) -> ShowLog:
    """Every channel of one show's log, from a data dir or a show id."""
    data_dir, named = _locate(target)
    wanted = show_id or named
    async with _redis_for(data_dir) as client:
        found = await _show_ids(client)
        if wanted is None:
            if len(found) != 1:
                raise ShowNotFound(
                    f"{target}: {'no show' if not found else 'several shows: ' + ', '.join(found)} in this log; name one with --show"
                )
            wanted = found[0]
        elif wanted not in found:
            raise ShowNotFound(f"no show {wanted!r} in this log" + (f" (it holds: {', '.join(found)})" if found else ""))
        log = EventLog(client, wanted)
        return ShowLog(wanted, {channel: await log.read(channel) for channel in CHANNELS})
