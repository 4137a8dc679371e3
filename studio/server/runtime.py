"""One running studio: Redis, the event log, the fan-out hubs, the engine pool and the controller.

``Studio.start`` brings the parts up in the order a broadcast needs: the log and the sockets first
(graphics connect and show the last good state at once), then the engines in the background (a
minute on a CPU) while the director can already see the rundown.

Scale-out: one process per show is the *controller* (the show's state machine, engines, commands,
judges); any number of *followers* (``follower=True``) share its Redis and serve only what every
viewer and graphic needs — the feeds (each tails the same streams, so every process sends the
same events in the same order) and the votes (counted once by the Lua script in Redis, wherever
they land). A follower holds no show state of its own, so killing one costs only its own clients
a reconnect.
"""

from __future__ import annotations

import asyncio
import logging
import os
from pathlib import Path

import redis.asyncio as aioredis

from core import events as ev
from core.events import CHANNELS
from core.graphics import overlay_version
from core.script import ShowScript
from engine_pool.pool import EnginePool
from store.embedded_redis import EmbeddedRedis, redis_url_for
from store.event_log import STORE_DOWN, EventLog
from store.polls import PollStore, VoteBatcher
from store.redis_client import cancel_and_wait, connect
from store.watch import StoreWatch
from studio.show.controller import ShowController
from studio.show.engines import build_pool

from .audience_api import AudienceGate
from .auth import Tokens
from .device_tokens import DeviceTokens
from .fanout import ChannelHub
from .telemetry import StudioMetrics

log = logging.getLogger("gavel.studio")
STORE_TIMEOUT_S = 5.0  # a Redis command that has had no answer by then is given up (stopped or paused server)


class Studio:
    def __init__(self, script: ShowScript, data_dir: Path, autopilot: bool = False, pool: EnginePool | None = None, follower: bool = False):
        self.script = script
        self.data_dir = Path(data_dir)
        self.autopilot = autopilot
        self.follower = follower
        self.tokens = Tokens.load(self.data_dir, [j.id for j in script.judging.judges])
        self.device_tokens = DeviceTokens(self.tokens.current_signing)
        self.audience_gate = AudienceGate(script.audience)
        self.overlay_version = overlay_version()
        self.redis_server: EmbeddedRedis | None = None
        self.event_log: EventLog | None = None
        self.pool = pool
        self.hubs: dict[str, ChannelHub] = {}
        self.controller: ShowController | None = None
        self.metrics = StudioMetrics(self)
        self._clients: list[aioredis.Redis] = []
        self._engine_task: asyncio.Task | None = None
        self.store_watch: StoreWatch | None = None
        self._watch_task: asyncio.Task | None = None

    async def start(self) -> None:
        self.loop = asyncio.get_running_loop()  # for callers on other threads (tests, tools)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if self.follower and not os.environ.get("REDIS_URL"):
            raise RuntimeError(
                "a follower serves the controller's show from its Redis: set REDIS_URL (for the controller's embedded "
                "server on this machine: unix://<its data dir>/redis.sock)"
            )
        url, self.redis_server = await asyncio.to_thread(redis_url_for, self.data_dir)
        show_id = self.script.show.id
        self.event_log = EventLog(self._client(url, socket_timeout=STORE_TIMEOUT_S), show_id, attempt_timeout_s=STORE_TIMEOUT_S)
        for channel in CHANNELS:
            hub = ChannelHub(self.event_log, EventLog(self._client(url), show_id), channel, observe=self.metrics.observe_event)
            await hub.start()
            self.hubs[channel] = hub
            self.event_log.appended[channel] = hub.take_appended
        # Its own connections (votes come in bursts), which give up on a hung Redis: a phone gets a
        # 503 "send yours again" instead of waiting forever (a resent vote never counts twice).
        self.poll_store = PollStore(self._client(url, socket_timeout=STORE_TIMEOUT_S), show_id)
        self.vote_batcher = VoteBatcher(self.poll_store)
        # The controller logs an outage for the director; a follower only notes it in its own log.
        report = self._log_outage if self.follower else self._report_outage
        self.store_watch = StoreWatch(url, self.redis_server, report)
        if self.follower:
            self._watch_task = asyncio.create_task(self.store_watch.run(), name="store-watch")
            log.info("follower for show %r up (feeds and votes; the controller runs the show)", show_id)
            return
        if self.pool is None:
            self.pool = await asyncio.to_thread(build_pool, self.script)
        self.pool.listeners.append(self.metrics.observe_answer)
        self.controller = ShowController(
            self.script,
            self.event_log,
            self.pool,
            autopilot=self.autopilot,
            images_dir=self.data_dir / "images",
            attention_dir=self.data_dir / "attention",
        )
        await self.controller.open()
        self._watch_task = asyncio.create_task(self.store_watch.run(), name="store-watch")
        self._engine_task = asyncio.create_task(self.pool.start(), name="engines")
        log.info("studio for show %r up; data in %s", show_id, self.data_dir)

    def _controller_key(self) -> str:
        return f"gavel:{{{self.script.show.id}}}:controller"

    async def announce(self, address: str) -> None:
        """The controller says where it serves (followers name it when they turn a request away)."""
        if not self.follower:
            await self.event_log.client.set(self._controller_key(), address)

    async def controller_address(self) -> str | None:
        try:
            address = await self.event_log.client.get(self._controller_key())
        except STORE_DOWN:
            return None
        return address.decode() if isinstance(address, bytes) else address

    async def _report_outage(self, outage: ev.StoreOutageData) -> None:
        await self.controller.publish(ev.StoreOutage(data=outage), channels=ev.DIRECTOR_ONLY)

    async def _log_outage(self, outage: ev.StoreOutageData) -> None:
        log.warning("redis was unreachable for %.1f s", outage.duration_s)

    def _client(self, url: str, **options) -> aioredis.Redis:
        # Pooled: a burst of phones connecting at once (each replaying from the log) waits for a
        # connection instead of failing once the pool is full, which would drop sockets.
        client = connect(url, pooled=True, health_check_interval=10, **options)
        self._clients.append(client)
        return client

    async def stop(self) -> None:
        if self._watch_task:
            await cancel_and_wait(self._watch_task)
            await self.store_watch.close()
        if self.controller:
            await self.controller.close()
        if self._engine_task:
            self._engine_task.cancel()
            await asyncio.gather(self._engine_task, return_exceptions=True)
        for hub in self.hubs.values():
            await hub.stop()
        if self.pool:
            await self.pool.close()
        if self.event_log is not None:
            await self.event_log.close()
        for client in self._clients:
            await client.aclose()
        if self.redis_server:
            await asyncio.to_thread(self.redis_server.stop)
