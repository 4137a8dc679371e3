"""``gavel replay``: a finished show's event log played again, at its pace, to the graphics.

The events go, each to the channels it was on and in the same order, into the log of a fresh
show id (``<show>-replay-<time>``) served by a ``ReplayRoom``: the same channel hubs, feeds and
overlay files as a studio, and nothing else — no controller, engines, votes or commands, so a
replay can be watched (and recorded by OBS or CasparCG) but not changed. Every channel's seqs
come out as they were, so a graphic renders the replay exactly as it rendered the show.

Time: each event is re-emitted at ``(ts - first ts) / speed`` after the start, never before the
one before it on its channel; its ``ts`` and the wall-clock fields in its data (a question's
deadline, a poll's closing time, a subtitle line's times) are moved by the same mapping, so
countdowns run as they did (``speed`` times faster). A program channel under a broadcast delay
is replayed on the events' creation times, i.e. without the delay.
"""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path
from typing import Callable

import redis.asyncio as aioredis
from starlette.applications import Starlette
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from core.events import CHANNELS, Event
from core.graphics import OVERLAYS_DIR, overlay_version
from store.embedded_redis import EmbeddedRedis, redis_url_for
from store.event_log import EventLog, LoggedEvent
from store.redis_client import connect

from .auth import Tokens
from .fanout import ChannelHub
from .feeds import serve_feed

log = logging.getLogger("gavel.replay")

WALL_CLOCK_FIELDS = ("deadline_ts", "closes_ts", "started_ts", "shown_ts")  # in an event's data


class Timeline:
    """The original show's clock mapped onto the replay's: ``at(ts)``."""

    def __init__(self, first_ts: float, start: float, speed: float):
        if speed <= 0:
            raise ValueError("speed: must be greater than 0")
        self.first_ts, self.start, self.speed = first_ts, start, speed

    def at(self, ts: float) -> float:
        return self.start + (ts - self.first_ts) / self.speed


def retimed(event: Event, timeline: Timeline) -> Event:
    """The event with its ts and its data's wall-clock fields on the replay's clock."""
    moved = {f: timeline.at(v) for f in WALL_CLOCK_FIELDS if isinstance(v := getattr(event.data, f, None), (int, float))}
    data = event.data.model_copy(update=moved) if moved else event.data
    return event.model_copy(update={"ts": timeline.at(event.ts), "data": data})


def first_ts(channels: dict[str, list[LoggedEvent]]) -> float:
    stamps = [items[0].parse().ts for items in channels.values() if items]
    if not stamps:
        raise ValueError("the show's log is empty: nothing to replay")
    return min(stamps)


async def replay_channels(
    channels: dict[str, list[LoggedEvent]],
    dest: EventLog,
    timeline: Timeline,
    clock: Callable[[], float] = time.time,
    on_emit: Callable[[str, Event], None] | None = None,
) -> None:
    """Append every channel's events to ``dest`` at their replay times, each channel in its order.

    ``dest`` must be a fresh show: the replayed seqs must be the original ones."""
    for channel in channels:
        if await dest.last_seq(channel):
            raise ValueError(f"show {dest.show_id!r} already has events on {channel}: replay into a fresh show id")

    async def one(channel: str, items: list[LoggedEvent]) -> None:
        for item in items:
            event = retimed(item.parse(), timeline)
            wait = event.ts - clock()
            if wait > 0:
                await asyncio.sleep(wait)
            seq = (await dest.append(event, [channel]))[channel]
            if seq != item.seq:
                raise RuntimeError(f"{channel}: replayed seq {seq} for original {item.seq}: the replay show was written to meanwhile")
            if on_emit is not None:
                on_emit(channel, event)

    await asyncio.gather(*(one(channel, items) for channel, items in channels.items()))


class ReplayRoom:
    """What the feeds and the graphics routes need of a studio, for a replay: the channel hubs
    over the replay's log, the role tokens (graphics pages connect as to the studio) and the
    overlay files' version. ``controller`` is None: feeds then take no commands and register no
    pages, so nothing but the replayed events ever enters the replay's log."""

    controller = None

    def __init__(self, show_id: str, data_dir: Path):
        self.show_id = show_id
        self.data_dir = Path(data_dir)
        self.tokens = Tokens.load(self.data_dir, [])
        self.overlay_version = overlay_version()
        self.hubs: dict[str, ChannelHub] = {}
        self.redis_server: EmbeddedRedis | None = None
        self.event_log: EventLog | None = None
        self._clients: list[aioredis.Redis] = []

    async def start(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        url, self.redis_server = await asyncio.to_thread(redis_url_for, self.data_dir)
        self.event_log = EventLog(self._client(url), self.show_id)
        for channel in CHANNELS:
            hub = ChannelHub(self.event_log, EventLog(self._client(url), self.show_id), channel)
            await hub.start()
            self.hubs[channel] = hub

    def _client(self, url: str) -> aioredis.Redis:
        client = connect(url)
        self._clients.append(client)
        return client

    async def stop(self) -> None:
        for hub in self.hubs.values():
            await hub.stop()
        if self.event_log is not None:
            await self.event_log.close()
        for client in self._clients:
            await client.aclose()
        if self.redis_server:
            await asyncio.to_thread(self.redis_server.stop)


def create_replay_app(room: ReplayRoom):
    """The graphics' side of the studio's app (feeds, overlays, plotly, the radar figure), over a replay."""
    from contextlib import asynccontextmanager

    from starlette.exceptions import HTTPException

    from .app import _http_error, healthz, index, plotly_js, radar
    from .app import overlay_version as version_route

    @asynccontextmanager
    async def lifespan(app: Starlette):
        await room.start()
        try:
            yield
        finally:
            await room.stop()

    app = Starlette(
        routes=[
            Route("/", index),
            Route("/healthz", healthz),
            Route("/overlays/version.json", version_route),
            Route("/vendor/plotly.min.js", plotly_js),
            Route("/figures/radar", radar),
            Mount("/overlays", StaticFiles(directory=OVERLAYS_DIR), name="overlays"),
        ],
        lifespan=lifespan,
        exception_handlers={HTTPException: _http_error},
    )
    app.state.studio = room

    async def asgi(scope, receive, send) -> None:
        if scope["type"] == "websocket" and scope["path"].startswith("/ws/"):
            await serve_feed(room, scope, receive, send)
            return
        await app(scope, receive, send)

    return asgi
