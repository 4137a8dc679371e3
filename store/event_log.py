"""The show's event log: one Redis Stream per channel, the source of truth.

An event is appended to one or more channels atomically by a Lua script that, per channel,
increments the channel's counter and ``XADD``s the event under the stream ID ``0-<seq>``. So the
stream ID *is* the per-channel ``seq``: replay is ``XRANGE (0-<since> +``, live delivery is
``XREAD BLOCK`` from the last ID, and several studio processes sharing one Redis see one order.

Redis going away (a restart, a failover) or hanging (stopped, paused) does not lose an event:
each attempt waits at most ``attempt_timeout_s``, and ``append`` tries again for up to
``outage_s``. Each append carries its own id, so a retry after a reply that never came (the script
ran, the connection dropped) gets the seqs of the first attempt instead of appending twice; and a
deadline, so an attempt a stalled server runs only after the caller gave up appends nothing. Past
``outage_s`` it raises ``EventLogUnavailable``, naming the event, which the HTTP surface turns into
a 503 that says so: an event is either acknowledged and in the log, or refused loudly, never
dropped in silence and never logged twice.

The stored body is the event JSON without ``seq``; ``wire_text`` splices the seq in front, so an
event is serialised once however many clients receive it. All keys share the hash tag ``{show}``
so the script also runs on a Redis Cluster.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import time
from dataclasses import dataclass
from typing import Callable, Iterable

import redis.asyncio as aioredis
import redis.exceptions

from core.events import CHANNELS, ON_AIR, Event, parse_event

from .redis_lane import RedisLane

# KEYS: the append's once-key, then (seq key, stream key) per channel. ARGV: the body, MAXLEN (0:
# none), the deadline (unix ms) and how long the once-key is kept (ms). The once-key makes a retry
# of the same append return the seqs it got (a reply lost with its connection); the deadline keeps
# an attempt that reaches a stalled server late (SIGSTOP, CLIENT PAUSE: its bytes were already in
# the socket) from appending after the caller was told the event was not recorded.
_APPEND_SCRIPT = """
local done = redis.call('GET', KEYS[1])
if done then
  local out = {}
  for seq in string.gmatch(done, '%d+') do out[#out + 1] = tonumber(seq) end
  return out
end
local now = redis.call('TIME')
if tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000) > tonumber(ARGV[3]) then
  return redis.error_reply('STALE append past its deadline: not appended')
end
local out = {}
for i = 2, #KEYS, 2 do
  local seq = redis.call('INCR', KEYS[i])
  if tonumber(ARGV[2]) > 0 then
    redis.call('XADD', KEYS[i + 1], 'MAXLEN', '~', ARGV[2], '0-' .. seq, 'b', ARGV[1])
  else
    redis.call('XADD', KEYS[i + 1], '0-' .. seq, 'b', ARGV[1])
  end
  out[#out + 1] = seq
end
redis.call('SET', KEYS[1], table.concat(out, ','), 'PX', ARGV[4])
return out
"""
_APPEND_SHA = hashlib.sha1(_APPEND_SCRIPT.encode()).hexdigest()

log = logging.getLogger("gavel.event_log")

# What a lost or restarting Redis looks like to a client (BusyLoadingError, while it replays its
# AOF, is a ConnectionError).
STORE_DOWN = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)


class EventLogUnavailable(RuntimeError):
    """Redis stayed unreachable past the log's patience: the event was not recorded."""


@dataclass(frozen=True)
class LoggedEvent:
    seq: int
    text: str  # wire JSON, seq included

    def parse(self) -> Event:
        return parse_event(self.text)


def wire_text(seq: int, body: str) -> str:
    return '{"seq":%d,%s' % (seq, body[1:])


def _seq_of(stream_id: bytes | str) -> int:
    if isinstance(stream_id, bytes):
        stream_id = stream_id.decode()
    return int(stream_id.split("-", 1)[1])


class EventLog:
    def __init__(self, client: aioredis.Redis, show_id: str, max_len: int = 0, outage_s: float = 15.0, attempt_timeout_s: float = 5.0):
        self.client = client
        self.show_id = show_id
        self.max_len = max_len  # 0 keeps everything; otherwise approximate trimming per channel
        self.outage_s = outage_s  # how long an append waits for Redis to come back
        self.attempt_timeout_s = attempt_timeout_s  # one attempt's wait for an answer (a hung server)
        self._offset: float | None = None  # Redis's clock minus ours (the appends' deadlines are Redis's)
        self._append = client.register_script(_APPEND_SCRIPT)
        # The append and XREAD go through a lean connection of the log's own when the client is a
        # plain single server (store/redis_lane.py: redis-py's per-command cost was most of the
        # studio's added latency per token); everything else, and a cluster, through the client.
        self._lane = RedisLane.for_client(client)
        # Per channel, told of each event this process appended there, as logged (this process's
        # channel hubs: they send it at once instead of waiting for their XREAD to bring it back).
        self.appended: dict[str, Callable[[LoggedEvent], None]] = {}

    def stream_key(self, channel: str) -> str:
        return f"gavel:{{{self.show_id}}}:ch:{channel}"

    def _seq_key(self, channel: str) -> str:
        return f"gavel:{{{self.show_id}}}:seq:{channel}"

    async def append(self, event: Event, channels: Iterable[str] = ON_AIR) -> dict[str, int]:
        """Append to each channel; returns the seq the event got on each."""
        channels = list(channels)
        for channel in channels:
            if channel not in CHANNELS:
                raise ValueError(f"unknown channel {channel!r}")
        body = event.model_dump_json(exclude={"seq"})
        keys = [f"gavel:{{{self.show_id}}}:once:{os.urandom(8).hex()}"]
        for channel in channels:
            keys += [self._seq_key(channel), self.stream_key(channel)]
        loop = asyncio.get_running_loop()
        give_up, attempt = loop.time() + self.outage_s, 0
        # Past this (Redis's clock, unix ms) no attempt may append: the caller has been told it failed.
        deadline_ms = int((time.time() + await self._clock_offset() + self.outage_s) * 1000)
        args = [body, self.max_len, deadline_ms, int(self.outage_s * 1000) + 60_000]
        while True:
            try:
                timeout = max(0.05, min(self.attempt_timeout_s, give_up - loop.time()))
                seqs = await self._run_append(keys, args, timeout)
                return self._tell(dict(zip(channels, (int(s) for s in seqs))), body)
            except redis.exceptions.ResponseError as exc:
                if not str(exc).startswith("STALE"):
                    raise
                raise EventLogUnavailable(f"the event log (Redis) did not take {event.type} in {self.outage_s:g} s: not recorded") from exc
            except (*STORE_DOWN, TimeoutError) as exc:
                attempt += 1
                if loop.time() >= give_up:
                    raise EventLogUnavailable(
                        f"the event log (Redis) has been unreachable for {self.outage_s:g} s: {event.type} was not recorded ({exc or 'no answer'})"
                    ) from exc
                if attempt == 1:
                    log.warning("appending %s: %s; retrying for up to %g s", event.type, exc or "no answer", self.outage_s)
                await asyncio.sleep(min(0.05 * 2**attempt, 0.5, max(0.0, give_up - loop.time())))

    async def _clock_offset(self) -> float:
        """Redis's clock minus ours, in seconds, asked once (while Redis answers: 0 until then)."""
        if self._offset is None:
            try:
                if self._lane is not None:  # the log's own socket: no idle redis-py connection left behind
                    seconds, micros = map(int, await self._lane.call("TIME", timeout=self.attempt_timeout_s))
                else:
                    seconds, micros = await asyncio.wait_for(self.client.time(), self.attempt_timeout_s)
                self._offset = seconds + micros / 1e6 - time.time()
            except (*STORE_DOWN, TimeoutError):
                return 0.0
        return self._offset

    async def _run_append(self, keys: list[str], args: list, timeout: float) -> list[int]:
        if self._lane is None:  # redis-py: a cancelled command drops its connection, so a timeout is safe
            return await asyncio.wait_for(self._append(keys=keys, args=args), timeout)
        call = (len(keys), *keys, *args)
        try:
            return await self._lane.call("EVALSHA", _APPEND_SHA, *call, timeout=timeout)
        except redis.exceptions.NoScriptError:  # a fresh (or restarted) server: EVAL caches it
            return await self._lane.call("EVAL", _APPEND_SCRIPT, *call, timeout=timeout)

    async def close(self) -> None:
        """Close the log's own connection (the client's are the caller's to close)."""
        if self._lane is not None:
            await self._lane.close()

    def _tell(self, seqs: dict[str, int], body: str) -> dict[str, int]:
        for channel, seq in seqs.items():
            if (listener := self.appended.get(channel)) is None:
                continue
            try:
                listener(LoggedEvent(seq, wire_text(seq, body)))
            except Exception:  # a listener's bug must not lose the append (the event is logged)
                log.exception("listener of appended events failed on %s seq %d", channel, seq)
        return seqs

    async def read(self, channel: str, after: int = 0, upto: int | None = None, batch: int = 1000) -> list[LoggedEvent]:
        """Events with after < seq <= upto, oldest first."""
        out: list[LoggedEvent] = []
        start = f"({'0-%d' % after}"
        end = "+" if upto is None else f"0-{upto}"
        key = self.stream_key(channel)
        while True:
            entries = await self.client.xrange(key, min=start, max=end, count=batch)
            for stream_id, fields in entries:
                out.append(LoggedEvent(_seq_of(stream_id), wire_text(_seq_of(stream_id), _body(fields))))
            if len(entries) < batch:
                return out
            start = f"({entries[-1][0].decode() if isinstance(entries[-1][0], bytes) else entries[-1][0]}"

    async def first_seq(self, channel: str) -> int | None:
        """Oldest seq still in the stream (None if empty): anything older was trimmed."""
        entries = await self.client.xrange(self.stream_key(channel), count=1)
        return _seq_of(entries[0][0]) if entries else None

    async def last_seq(self, channel: str) -> int:
        value = await self.client.get(self._seq_key(channel))
        return int(value) if value else 0

    async def tail(self, channel: str, after: int, block_ms: int = 5000, count: int = 500) -> list[LoggedEvent]:
        """Wait (up to block_ms) for events after ``after``; use a dedicated connection."""
        key, start = self.stream_key(channel), f"0-{after}"
        if self._lane is not None:
            # A server that stops answering (not a closed socket) must not hold the tail forever.
            reply = await self._lane.call("XREAD", "COUNT", count, "BLOCK", block_ms, "STREAMS", key, start, timeout=block_ms / 1000 + 10)
            result = [(name, [(stream_id, _pairs(fields)) for stream_id, fields in entries]) for name, entries in reply or []]
        else:
            result = await self.client.xread({key: start}, block=block_ms, count=count)
        out: list[LoggedEvent] = []
        for _key, entries in result or []:
            for stream_id, fields in entries:
                seq = _seq_of(stream_id)
                out.append(LoggedEvent(seq, wire_text(seq, _body(fields))))
        return out


def _pairs(flat: list) -> dict:
    return dict(zip(flat[::2], flat[1::2]))


def _body(fields: dict) -> str:
    raw = fields.get(b"b", fields.get("b"))
    return raw.decode() if isinstance(raw, bytes) else raw
