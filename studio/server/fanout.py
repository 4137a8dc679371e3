"""Deliver one channel's events to this process's WebSocket clients, in order, gap-free.

One ``ChannelHub`` per channel tails the channel's stream (``XREAD BLOCK``) and hands every event
to each subscriber's bounded queue (events this process appended itself go out as soon as Redis
has them, without waiting for the XREAD: ``take_appended``); it never awaits a client, so a
slow phone cannot delay the program feed. Each ``Subscriber`` runs its own writer: it first
replays what the client missed (``since``), then forwards live events, filling any gap from the
log and dropping duplicates by seq. When the missed events were trimmed from the log it sends a snapshot instead. A client whose
queue overflows is disconnected; it reconnects with its last seq and loses nothing.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Awaitable, Callable

import redis.exceptions

from core.events import Event, Snapshot
from core.state import ShowState
from store.event_log import EventLog, LoggedEvent
from store.redis_client import cancel_and_wait, drop_connections

from .direct_send import DirectWrite, text_frame

log = logging.getLogger("gavel.fanout")

Send = Callable[[str], Awaitable[None]]

# A frame is one event's JSON, or a JSON array of events in seq order when several were ready at
# once (both contestants' tokens from one engine step): one socket write instead of several.
MAX_FRAME_EVENTS = 256

# In the process that appends (the controller), a hub's XREAD would wake for every event only to
# find it sent already by take_appended: ~4 socket operations per event per channel on the loop
# that writes to every client. While this process is appending to the channel, the XREAD pauses
# this long between reads instead; what others append (a training job's progress) and anything this
# process was not told of (an append whose reply was lost) still arrive, at most this much later.
OWN_APPENDS_LULL_S = 0.1


def frame(texts: list[str]) -> str:
    return texts[0] if len(texts) == 1 else "[" + ",".join(texts) + "]"


class SubscriberOverflow(Exception):
    pass


class Subscriber:
    # No asyncio.Queue/Event per client: a list and, only while waiting, one future. A phone's
    # socket is mostly idle and there may be 10,000 of them (bench/audience_fanout.py).
    __slots__ = ("hub", "send", "direct", "next_seq", "max_queue", "_pending", "_waiter", "_overflowed")

    def __init__(self, hub: "ChannelHub", send: Send, since: int, max_queue: int = 10_000, direct: DirectWrite | None = None):
        self.hub = hub
        self.send = send
        self.direct = direct
        self.next_seq = since + 1
        self.max_queue = max_queue
        self._pending: list[LoggedEvent] = []
        self._waiter: asyncio.Future | None = None
        self._overflowed = False

    def offer(self, item: LoggedEvent) -> None:
        if len(self._pending) >= self.max_queue:
            self._overflowed = True
        else:
            self._pending.append(item)
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    def take_frame(self, first_seq: int, last_seq: int, frame_bytes: bytes) -> bool:
        """The hub's frame of events first_seq..last_seq, written now if this client is caught up
        and idle (its task parked, nothing queued): no wake-up, no framing of its own."""
        if (
            self.direct is None
            or self._pending
            or self._overflowed
            or self._waiter is None
            or self._waiter.done()
            or self.next_seq != first_seq
            or not self.direct(frame_bytes)
        ):
            return False
        self.next_seq = last_seq + 1
        return True

    async def _next_batch(self) -> list[LoggedEvent]:
        while not self._pending and not self._overflowed:
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        batch, self._pending = self._pending[:MAX_FRAME_EVENTS], self._pending[MAX_FRAME_EVENTS:]
        return batch

    async def _deliver(self, items: list[LoggedEvent]) -> None:
        """Send ``items`` (in seq order) as few frames as gap-filling allows: usually one."""
        pending: list[str] = []
        for item in items:
            if item.seq < self.next_seq:
                continue  # already sent (replay overlapped live delivery)
            if item.seq > self.next_seq:
                if pending:
                    await self.send(frame(pending))
                    pending = []
                await self._catch_up(upto=item.seq - 1)
                if item.seq < self.next_seq:
                    continue
            pending.append(item.text)
            self.next_seq = item.seq + 1
        if pending:
            await self.send(frame(pending))

    async def _catch_up(self, upto: int | None = None) -> None:
        missed = await self.hub.event_log.read(self.hub.channel, after=self.next_seq - 1, upto=upto)
        expected_some = upto is not None and upto >= self.next_seq
        last = await self.hub.event_log.last_seq(self.hub.channel)
        if (missed and missed[0].seq != self.next_seq) or (expected_some and not missed) or self.next_seq > last + 1:
            # Trimmed from the log, or a seq from another run of the show: start over from state.
            await self._send_snapshot()
        fresh = [item for item in missed if item.seq >= self.next_seq]
        for start in range(0, len(fresh), MAX_FRAME_EVENTS):
            chunk = fresh[start : start + MAX_FRAME_EVENTS]
            await self.send(frame([item.text for item in chunk]))
            self.next_seq = chunk[-1].seq + 1

    async def _send_snapshot(self) -> None:
        state, seq = self.hub.snapshot()
        await self.send(Snapshot(seq=seq, data=state).model_dump_json())
        self.next_seq = seq + 1

    async def run(self) -> None:
        """Replay, then stream live until the client goes or overflows.

        One wake-up sends everything already queued as one frame: no task, ``asyncio.wait`` or
        send per message, which was most of the fan-out's CPU per client (bench/relay.py).
        """
        await self._catch_up()
        while True:
            items = await self._next_batch()
            if self._overflowed:
                raise SubscriberOverflow(f"client on {self.hub.channel} fell {len(self._pending) + len(items)} events behind")
            await self._deliver(items)


class ChannelHub:
    def __init__(self, event_log: EventLog, tail_log: EventLog, channel: str, observe: Callable[[str, Event], None] | None = None):
        self.event_log = event_log
        self.tail_log = tail_log  # its own connection: XREAD BLOCK holds it
        self.channel = channel
        self.observe = observe  # told of each live event as it arrives (the studio's /metrics)
        self.subscribers: set[Subscriber] = set()
        self.state = ShowState()
        self.last_seq = 0
        self._task: asyncio.Task | None = None
        self.ready = asyncio.Event()
        self.redis_ok = True
        self.frames_shared = 0  # frames written to a client straight from the broadcast (direct_send)
        self._own_append_at = -OWN_APPENDS_LULL_S  # time.monotonic() of the last take_appended

    def snapshot(self) -> tuple[dict, int]:
        return self.state.to_dict(), self.last_seq

    async def start(self) -> None:
        for item in await self.event_log.read(self.channel):
            self._absorb(item)
        self.ready.set()
        self._task = asyncio.create_task(self._tail(), name=f"hub:{self.channel}")

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            # A blocked XREAD only notices the cancel when its socket closes.
            await drop_connections(self.tail_log.client)
            await cancel_and_wait(self._task)
            await self.tail_log.close()

    def _absorb(self, item: LoggedEvent) -> Event | None:
        if item.seq <= self.last_seq:
            return None
        event = item.parse()
        self.state.apply(event)
        self.last_seq = item.seq
        return event

    async def _tail(self) -> None:
        backoff = 0.1
        while True:
            try:
                batch = await self.tail_log.tail(self.channel, after=self.last_seq)
                self.redis_ok, backoff = True, 0.1
            except redis.exceptions.TimeoutError:
                if asyncio.current_task().cancelling():
                    raise  # redis-py reports a cancelled read as a timeout: we are stopping
                continue  # a slow reply (e.g. the loop busy loading the engine): just ask again
            except (redis.exceptions.ConnectionError, OSError) as exc:
                if asyncio.current_task().cancelling():
                    raise
                if self.redis_ok:
                    log.error("lost redis while tailing %s: %s", self.channel, exc)
                self.redis_ok = False
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 2.0)
                continue
            self._broadcast([item for item in batch if self._take_live(item)])
            if time.monotonic() - self._own_append_at < OWN_APPENDS_LULL_S:
                await asyncio.sleep(OWN_APPENDS_LULL_S)

    def take_appended(self, item: LoggedEvent) -> None:
        """An event this process has just appended to this channel (EventLog.appended): sent now
        if it is the channel's next one, which saves the XREAD's trip back from Redis; anything
        else (an append whose reply overtook an earlier one's, a hub still catching up) is left to
        the XREAD, which brings every event in order and skips what was sent already."""
        self._own_append_at = time.monotonic()
        if item.seq == self.last_seq + 1 and self.ready.is_set() and self._take_live(item):
            self._broadcast([item])

    def _take_live(self, item: LoggedEvent) -> bool:
        """Fold a live event into the state (and /metrics); False if it was taken already."""
        event = self._absorb(item)
        if event is not None and self.observe is not None:
            self.observe(self.channel, event)
        return event is not None

    def _broadcast(self, items: list[LoggedEvent]) -> None:
        """New events to every client: caught-up ones get one frame encoded once for all of them
        (studio/server/direct_send.py); the rest queue the events and send them from their own task."""
        if not items:
            return
        shared = None
        if len(items) <= MAX_FRAME_EVENTS and items[-1].seq - items[0].seq == len(items) - 1:
            shared = text_frame(frame([item.text for item in items]).encode())
        for sub in list(self.subscribers):
            if shared is not None and sub.take_frame(items[0].seq, items[-1].seq, shared):
                self.frames_shared += 1
                continue
            for item in items:
                sub.offer(item)

    async def serve(self, send: Send, since: int, direct: DirectWrite | None = None) -> None:
        """Run one client until it disconnects (the caller closes the socket). ``direct``: the
        connection's frame writer, when the server allows one."""
        await self.ready.wait()
        sub = Subscriber(self, send, since, direct=direct)
        self.subscribers.add(sub)
        try:
            await sub.run()
        finally:
            self.subscribers.discard(sub)
