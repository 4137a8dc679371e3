"""Watch the show's store (Redis): notice it going away, bring an embedded one back, report it.

Every part of the studio reconnects by itself (the fan-out's tail retries, the event log's appends
retry, votes are refused with a 503 meanwhile); this is what tells the director. It writes a probe
key on its own connection a few times a second (a write: a paused server still answers PINGs). While Redis is gone ``status()`` says so (``GET /api/state``
→ ``store``, the panel's red banner); an embedded server that died is restarted on the same data
dir (its AOF holds every acknowledged write); once Redis answers again the outage goes into the
log as a ``store.outage`` event on the director channel — it cannot be logged any sooner.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Awaitable, Callable

from core import events as ev

from .embedded_redis import EmbeddedRedis
from .event_log import STORE_DOWN, EventLogUnavailable
from .redis_client import connect

log = logging.getLogger("gavel.store")

Report = Callable[[ev.StoreOutageData], Awaitable[None]]
PROBE_KEY = "gavel:store-watch:probe"


class StoreWatch:
    def __init__(self, url: str, server: EmbeddedRedis | None, report: Report, interval_s: float = 0.25):
        # Short timeouts: a ping that hangs is an outage too.
        self.client = connect(url, socket_timeout=1.0, socket_connect_timeout=1.0)
        self.server = server
        self.report = report
        self.interval_s = interval_s
        self.down_since: float | None = None
        self.error = ""
        self.restarted = False
        self.outages = 0

    def status(self) -> dict:
        return {"ok": self.down_since is None, "down_since": self.down_since, "error": self.error, "outages": self.outages}

    async def run(self) -> None:
        unreported: ev.StoreOutageData | None = None
        while True:  # until cancelled (redis_client.cancel_and_wait: a cancel in a ping can be swallowed)
            await asyncio.sleep(self.interval_s)
            try:
                # A write, not a PING: a paused server (CLIENT PAUSE WRITE) answers PING while every
                # append hangs. Short-lived, outside any show's keys.
                await self.client.set(PROBE_KEY, "1", px=5000)
            except STORE_DOWN as exc:
                self._lost(exc)
                if self.server is not None and self.server.exited():
                    await asyncio.to_thread(self.server.restart)
                    self.restarted = True
                continue
            if self.down_since is not None:
                now = time.time()
                unreported = ev.StoreOutageData(
                    began_ts=self.down_since,
                    ended_ts=now,
                    duration_s=round(now - self.down_since, 3),
                    error=self.error,
                    restarted=self.restarted,
                )
                log.warning("redis is back after %.1f s", unreported.duration_s)
                self.down_since, self.restarted = None, False
            if unreported is not None:
                try:
                    await self.report(unreported)
                    unreported = None
                except (*STORE_DOWN, EventLogUnavailable):
                    continue  # gone again before the report was logged: it goes with the next try

    def _lost(self, exc: BaseException) -> None:
        if self.down_since is None:
            self.down_since, self.error = time.time(), f"{type(exc).__name__}: {exc}"
            self.outages += 1
            log.error("redis unreachable: %s", self.error)

    async def close(self) -> None:
        await self.client.aclose()
