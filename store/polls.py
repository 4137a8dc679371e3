"""Audience polls in Redis: atomic one-vote-per-device counting, and the audit trail.

A poll lives under the show's hash tag as four keys: its meta hash (status, allow_change), its
choice set, the device -> choice hash and the choice -> count tally. One Lua script does the whole
vote — poll open? choice valid? first vote or an allowed change? — updates the tally and appends
the accepted vote to the show's vote audit stream, so counts can never disagree with the votes
recorded, however many studio processes take votes at once. Closing flips the status inside
Redis, so a vote that arrives a moment later is refused by the same script, not counted.

Votes are sent to Redis in batches (``VoteBatcher``): every vote that arrives while a batch is in
flight rides in the next one, and a batch is one script call (per poll), so one round trip and
one short reply serve hundreds of phones.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import redis.asyncio as aioredis
from redis.exceptions import NoScriptError

# One call counts a whole batch of votes for one poll (ARGV: poll id, then device, choice, ip per
# vote). The answer is compact on purpose, as a batch holds hundreds of votes: one letter per vote
# (OUTCOME_CODES) and every vote's previous choice joined by commas (choice ids have none).
_VOTE = """
local status = redis.call('HGET', KEYS[1], 'status')
local n = (#ARGV - 1) / 3
local codes, prevs = {}, {}
if status ~= 'open' then
  local code = status and 'C' or 'K'
  for i = 1, n do codes[i] = code; prevs[i] = '' end
  return {table.concat(codes), table.concat(prevs, ',')}
end
local allow_change = redis.call('HGET', KEYS[1], 'allow_change') == '1'
local per_ip = tonumber(redis.call('HGET', KEYS[1], 'per_ip') or '0')
for i = 1, n do
  local device, choice, ip = ARGV[3 * i - 1], ARGV[3 * i], ARGV[3 * i + 1]
  local prev = redis.call('HGET', KEYS[3], device)
  if redis.call('SISMEMBER', KEYS[2], choice) == 0 then
    codes[i] = 'B'
  elseif prev == choice then
    codes[i] = 'U'
  elseif prev and not allow_change then
    codes[i] = 'V'
  elseif not prev and per_ip > 0 and redis.call('HINCRBY', KEYS[6], ip, 1) > per_ip then
    redis.call('HINCRBY', KEYS[6], ip, -1)
    codes[i] = 'N'
  else
    if prev then redis.call('HINCRBY', KEYS[4], prev, -1) end
    redis.call('HSET', KEYS[3], device, choice)
    redis.call('HINCRBY', KEYS[4], choice, 1)
    redis.call('XADD', KEYS[5], '*', 'poll', ARGV[1], 'device', device, 'choice', choice, 'prev', prev or '', 'ip', ip)
    codes[i] = 'A'
  end
  prevs[i] = prev or ''
end
return {table.concat(codes), table.concat(prevs, ',')}
"""
OUTCOME_CODES = {
    "A": "accepted",
    "U": "unchanged",
    "K": "unknown_poll",
    "C": "closed",
    "B": "bad_choice",
    "V": "already_voted",
    "N": "network_limit",
}

# Open only a poll never opened before; close only an open one. Both return the status after.
_OPEN = """
if redis.call('EXISTS', KEYS[1]) == 1 then return redis.call('HGET', KEYS[1], 'status') end
redis.call('HSET', KEYS[1], 'status', 'open', 'allow_change', ARGV[1], 'per_ip', ARGV[2])
redis.call('SADD', KEYS[2], unpack(ARGV, 3))
return 'opened'
"""
# New device tokens per IP, across every studio process: a fixed window (ARGV: the limit, the
# window in ms); returns how many ms until the window ends when the limit is reached, else 0.
_MINT = """
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
if n > tonumber(ARGV[1]) then return math.max(redis.call('PTTL', KEYS[1]), 1) end
return 0
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
    "network_limit": (409, "this poll has taken all the votes it takes from your network: yours was not counted"),
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
        self._mint = client.register_script(_MINT)

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
            self._key(poll_id, "ips"),  # IP -> devices whose first vote it counted
        ]

    async def open(self, poll_id: str, choices: list[str], allow_change: bool, per_ip: int = 0) -> str:
        """'opened', or the status of the poll that already had this id (ids are never reused).
        ``per_ip``: at most that many devices from one IP count in this poll (0: no limit)."""
        keys = [self._key(poll_id, "meta"), self._key(poll_id, "choices")]
        status = await self._open(keys=keys, args=["1" if allow_change else "0", per_ip, *choices])
        return status.decode() if isinstance(status, bytes) else status

    async def mint_wait(self, ip: str, limit: int, window_s: float = 60.0) -> float:
        """0 if ``ip`` may have one more device token in this window (counted for every studio
        process sharing this Redis), else the seconds until it may."""
        key = f"gavel:{{{self.show_id}}}:mint:{ip}"
        wait_ms = await self._mint(keys=[key], args=[limit, int(window_s * 1000)])
        return int(wait_ms) / 1000

    async def close(self, poll_id: str) -> str:
        status = await self._close(keys=[self._key(poll_id, "meta")])
        return status.decode() if isinstance(status, bytes) else status

    async def counts(self, poll_id: str) -> dict[str, int]:
        raw = await self.client.hgetall(self._key(poll_id, "tally"))
        return {k.decode(): int(v) for k, v in raw.items() if int(v)}

    async def choice_of(self, poll_id: str, device: str) -> str | None:
        raw = await self.client.hget(self._key(poll_id, "devices"), device)
        return raw.decode() if raw else None

    def vote_call(self, poll_id: str, votes: list[tuple[str, str, str]]) -> list:
        """EVALSHA's arguments for a batch. Sent as a plain command: a cluster pipeline refuses
        the script helper, yet routes EVALSHA by its keys (one show's keys share a slot)."""
        keys = self.vote_keys(poll_id)
        return [self._vote.sha, len(keys), *keys, poll_id, *(part for vote in votes for part in vote)]

    async def audit(self, poll_id: str | None = None) -> list[dict[str, str]]:
        """Every accepted vote in order (the audit trail), optionally for one poll."""
        out = []
        for _id, fields in await self.client.xrange(self.audit_key):
            entry = {k.decode(): v.decode() for k, v in fields.items()}
            if poll_id is None or entry["poll"] == poll_id:
                out.append(entry)
        return out


def _outcomes(reply) -> list[VoteOutcome]:
    codes, prevs = (part.decode() if isinstance(part, bytes) else part for part in reply)
    return [VoteOutcome(OUTCOME_CODES[code], prev or None) for code, prev in zip(codes, prevs.split(","))]


class VoteBatcher:
    """Sends votes to Redis in batches: one in flight, the next one filling meanwhile; each batch is
    one script call per poll (usually one), so a round trip and a reply serve hundreds of phones."""

    def __init__(self, store: PollStore, max_batch: int = 512):
        self.store = store
        self.max_batch = max_batch
        self._waiting: list[tuple[str, tuple[str, str, str], asyncio.Future]] = []
        self._flusher: asyncio.Task | None = None

    def submit(self, poll_id: str, device: str, choice: str, ip: str = "") -> asyncio.Future:
        """The vote's VoteOutcome to come (or the exception that kept Redis from confirming it)."""
        future = asyncio.get_running_loop().create_future()
        self._waiting.append((poll_id, (device, choice, ip), future))
        if self._flusher is None:
            self._flusher = asyncio.create_task(self._flush())
        return future

    async def _flush(self) -> None:
        try:
            while self._waiting:
                batch, self._waiting = self._waiting[: self.max_batch], self._waiting[self.max_batch :]
                by_poll: dict[str, list] = {}
                for poll_id, vote, future in batch:
                    by_poll.setdefault(poll_id, []).append((vote, future))
                try:
                    replies = await self._send(by_poll)
                    if any(isinstance(r, NoScriptError) for r in replies):
                        # Redis restarted and forgot the script: nothing in this batch ran.
                        await self.store.client.script_load(_VOTE)
                        replies = await self._send(by_poll)
                except Exception as exc:  # Redis gone: every vote in the batch fails, none is lost silently
                    replies = [exc] * len(by_poll)
                for votes, reply in zip(by_poll.values(), replies):
                    outcomes = [reply] * len(votes) if isinstance(reply, Exception) else _outcomes(reply)
                    for (_, future), outcome in zip(votes, outcomes):
                        if future.done():
                            continue  # the phone went away; the vote itself counted (or not) all the same
                        if isinstance(outcome, Exception):
                            future.set_exception(outcome)
                        else:
                            future.set_result(outcome)
        finally:
            self._flusher = None

    async def _send(self, by_poll: dict[str, list]) -> list:
        async with self.store.client.pipeline(transaction=False) as pipe:
            for poll_id, votes in by_poll.items():
                pipe.execute_command("EVALSHA", *self.store.vote_call(poll_id, [vote for vote, _ in votes]))
            return await pipe.execute(raise_on_error=False)
