"""Audience polls in Redis: atomic one-vote-per-device counting, and the audit trail.

A poll lives under the show's hash tag as four keys: its meta hash (status, allow_change), its
choice set, the device -> choice hash and the choice -> count tally. One Lua script does the whole
vote — poll open? choice valid? first vote or an allowed change? — updates the tally and appends
the accepted vote to the show's vote audit stream, so counts can never disagree with the votes
recorded, however many studio processes take votes at once. Closing flips the status inside
Redis, so a vote that arrives a moment later is refused by the same script, not counted.

Votes are sent to Redis in pipelined batches (``VoteBatcher``): every vote that arrives while a
batch is in flight rides in the next one, so one round trip serves hundreds of phones.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import redis.asyncio as aioredis
from redis.exceptions import NoScriptError

_VOTE = """
local status = redis.call('HGET', KEYS[1], 'status')
if not status then return {'unknown_poll', ''} end
if status ~= 'open' then return {'closed', ''} end
if redis.call('SISMEMBER', KEYS[2], ARGV[2]) == 0 then return {'bad_choice', ''} end
local prev = redis.call('HGET', KEYS[3], ARGV[1])
if prev == ARGV[2] then return {'unchanged', prev} end
if prev then
  if redis.call('HGET', KEYS[1], 'allow_change') ~= '1' then return {'already_voted', prev} end
  redis.call('HINCRBY', KEYS[4], prev, -1)
end
redis.call('HSET', KEYS[3], ARGV[1], ARGV[2])
redis.call('HINCRBY', KEYS[4], ARGV[2], 1)
redis.call('XADD', KEYS[5], '*', 'poll', ARGV[3], 'device', ARGV[1], 'choice', ARGV[2], 'prev', prev or '', 'ip', ARGV[4])
return {'accepted', prev or ''}
"""

# Open only a poll never opened before; close only an open one. Both return the status after.
_OPEN = """
if redis.call('EXISTS', KEYS[1]) == 1 then return redis.call('HGET', KEYS[1], 'status') end
redis.call('HSET', KEYS[1], 'status', 'open', 'allow_change', ARGV[1])
redis.call('SADD', KEYS[2], unpack(ARGV, 2))
return 'opened'
"""
_CLOSE = """
local status = redis.call('HGET', KEYS[1], 'status')
if status ~= 'open' then return status or 'unknown' end
redis.call('HSET', KEYS[1], 'status', 'closed')
return 'closed'
"""

# What a phone is told for each outcome: (HTTP status, message). "accepted"/"unchanged" are 200.
REFUSALS = {
    "unknown_poll": (404, "no such poll"),
    "closed": (409, "this poll is closed: your vote was not counted"),
    "bad_choice": (400, "choice: not one of this poll's choices"),
    "already_voted": (409, "this device has already voted in this poll (changing is not allowed here)"),
}


@dataclass(frozen=True)
class VoteOutcome:
    result: str  # accepted | unchanged | one of REFUSALS
    previous: str | None  # the device's earlier choice, if any

    @property
    def counted(self) -> bool:
        return self.result in ("accepted", "unchanged")


class PollStore:
    def __init__(self, client: aioredis.Redis, show_id: str):
        self.client = client
        self.show_id = show_id
        self._vote = client.register_script(_VOTE)
        self._open = client.register_script(_OPEN)
        self._close = client.register_script(_CLOSE)

    def _key(self, poll_id: str, part: str) -> str:
        return f"gavel:{{{self.show_id}}}:poll:{poll_id}:{part}"

    @property
    def audit_key(self) -> str:
        return f"gavel:{{{self.show_id}}}:votes"

    def vote_keys(self, poll_id: str) -> list[str]:
        return [
            self._key(poll_id, "meta"),
            self._key(poll_id, "choices"),
            self._key(poll_id, "devices"),
            self._key(poll_id, "tally"),
            self.audit_key,
        ]

    async def open(self, poll_id: str, choices: list[str], allow_change: bool) -> str:
        """'opened', or the status of the poll that already had this id (ids are never reused)."""
        keys = [self._key(poll_id, "meta"), self._key(poll_id, "choices")]
        status = await self._open(keys=keys, args=["1" if allow_change else "0", *choices])
        return status.decode() if isinstance(status, bytes) else status

    async def close(self, poll_id: str) -> str:
        status = await self._close(keys=[self._key(poll_id, "meta")])
        return status.decode() if isinstance(status, bytes) else status

    async def counts(self, poll_id: str) -> dict[str, int]:
        raw = await self.client.hgetall(self._key(poll_id, "tally"))
        return {k.decode(): int(v) for k, v in raw.items() if int(v)}

    async def choice_of(self, poll_id: str, device: str) -> str | None:
        raw = await self.client.hget(self._key(poll_id, "devices"), device)
        return raw.decode() if raw else None

    async def vote(self, poll_id: str, device: str, choice: str, ip: str = "") -> VoteOutcome:
        result, prev = await self._vote(keys=self.vote_keys(poll_id), args=[device, choice, poll_id, ip])
        return _outcome(result, prev)

    async def audit(self, poll_id: str | None = None) -> list[dict[str, str]]:
        """Every accepted vote in order (the audit trail), optionally for one poll."""
        out = []
        for _id, fields in await self.client.xrange(self.audit_key):
            entry = {k.decode(): v.decode() for k, v in fields.items()}
            if poll_id is None or entry["poll"] == poll_id:
                out.append(entry)
        return out


def _outcome(result, prev) -> VoteOutcome:
    result = result.decode() if isinstance(result, bytes) else result
    prev = prev.decode() if isinstance(prev, bytes) else prev
    return VoteOutcome(result, prev or None)


class VoteBatcher:
    """Sends votes to Redis in pipelines: one in flight, the next one filling meanwhile."""

    def __init__(self, store: PollStore, max_batch: int = 512):
        self.store = store
        self.max_batch = max_batch
        self._waiting: list[tuple[list, list, asyncio.Future]] = []
        self._flusher: asyncio.Task | None = None

    async def vote(self, poll_id: str, device: str, choice: str, ip: str = "") -> VoteOutcome:
        future = asyncio.get_running_loop().create_future()
        self._waiting.append((self.store.vote_keys(poll_id), [device, choice, poll_id, ip], future))
        if self._flusher is None:
            self._flusher = asyncio.create_task(self._flush())
        return await future

    async def _flush(self) -> None:
        try:
            while self._waiting:
                batch, self._waiting = self._waiting[: self.max_batch], self._waiting[self.max_batch :]
                try:
                    replies = await self._send(batch)
                    if any(isinstance(r, NoScriptError) for r in replies):
                        # Redis restarted and forgot the script: nothing in this batch ran.
                        await self.store.client.script_load(_VOTE)
                        replies = await self._send(batch)
                except Exception as exc:  # Redis gone: every vote in the batch fails, none is lost silently
                    for _, _, future in batch:
                        if not future.done():
                            future.set_exception(exc)
                    continue
                for (_, _, future), reply in zip(batch, replies):
                    if future.done():
                        continue  # the phone went away; the vote itself counted (or not) all the same
                    if isinstance(reply, Exception):
                        future.set_exception(reply)
                    else:
                        future.set_result(_outcome(*reply))
        finally:
            self._flusher = None

    async def _send(self, batch) -> list:
        async with self.store.client.pipeline(transaction=False) as pipe:
            for keys, args, _ in batch:
                # The command itself: a cluster pipeline refuses its ``evalsha`` helper, yet routes
                # EVALSHA by its keys (one show's keys share a slot).
                pipe.execute_command("EVALSHA", self.store._vote.sha, len(keys), *keys, *args)
            return await pipe.execute(raise_on_error=False)
