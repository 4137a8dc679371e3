"""The life of a poll on air: open, running tallies, close, reveal.

Redis (``PollStore``) counts the votes; this publishes what the show sees of them. Tallies go out
coalesced — at most ``tally_hz`` a second, and only when the counts moved — to the director and
the graphics; viewers' phones get counts only once the director reveals the poll. Closing flips
the poll in Redis first, so no vote is counted after the final tally is published. A poll with a
duration closes itself through the controller (logged like a director's command), also after a
restart.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from typing import Awaitable, Callable

from pydantic import ValidationError

from core import events as ev
from core.script import LEADERBOARD_DIMENSIONS
from core.state import ShowState
from store.polls import PollStore

log = logging.getLogger("gavel.polls")

AUDIENCE = ("audience",)


class PollError(ValueError):
    pass


POLL_ID = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
RATING_CHOICES = [ev.PollChoice(id=str(n), label="★" * n) for n in range(1, 6)]


def parse_poll_request(args: dict, default_id: str) -> dict:
    """A director's ``poll_open`` args -> PollHost.open keywords; PollError names the bad field."""
    poll_id = args.get("poll", default_id)
    if not isinstance(poll_id, str) or not POLL_ID.match(poll_id):
        raise PollError("poll: 1-64 letters, digits, '_', '.' or '-'")
    title = args.get("title")
    if not isinstance(title, str) or not 1 <= len(title) <= 200:
        raise PollError("title: a question for viewers, 1-200 characters")
    kind = args.get("kind", "choice")
    if kind not in ("choice", "rating"):
        raise PollError("kind: choice or rating")
    raw = args.get("choices")
    if kind == "rating" and raw is None:
        choices = list(RATING_CHOICES)
    else:
        if not isinstance(raw, list) or not 2 <= len(raw) <= 20:
            raise PollError("choices: a list of 2 to 20 choices (strings or {id, label})")
        choices = []
        for i, item in enumerate(raw):
            try:
                choices.append(ev.PollChoice(id=item, label=item) if isinstance(item, str) else ev.PollChoice(**item))
            except (TypeError, ValidationError):
                raise PollError(f"choices[{i}]: an id (letters, digits, _.:- up to 64) and a label (1-200 characters)") from None
    allow_change = args.get("allow_change", False)
    if not isinstance(allow_change, bool):
        raise PollError("allow_change: true or false")
    dimension = args.get("dimension")
    if dimension is not None and dimension not in LEADERBOARD_DIMENSIONS:
        raise PollError(f"dimension: one of {', '.join(LEADERBOARD_DIMENSIONS)} (for verdicts between contestants)")
    duration = args.get("duration_s")
    if duration is not None and (isinstance(duration, bool) or not isinstance(duration, (int, float)) or not 0 < duration <= 3600):
        raise PollError("duration_s: seconds until it closes by itself, up to 3600")
    return dict(
        poll_id=poll_id, title=title, kind=kind, choices=choices, allow_change=allow_change, dimension=dimension, duration_s=duration
    )


def winner_of(counts: dict[str, int], choices: list[str]) -> str | None:
    """Most votes; a tie goes to the choice listed first. No votes, no winner."""
    best = max(choices, key=lambda c: (counts.get(c, 0), -choices.index(c)), default=None)
    return best if best is not None and counts.get(best, 0) > 0 else None


class PollHost:
    def __init__(
        self,
        store: PollStore,
        state: ShowState,
        publish: Callable[..., Awaitable[None]],
        tally_hz: float = 4.0,
        clock: Callable[[], float] = time.time,
        votes_per_ip: int = 0,
    ):
        self.store = store
        self.votes_per_ip = votes_per_ip  # devices from one IP counted per poll (0: no limit)
        self.state = state
        self.publish = publish
        self.tally_period = 1.0 / tally_hz
        self.clock = clock
        self._lock = asyncio.Lock()
        self._published: dict[str, dict[str, int]] = {}  # poll id -> counts last broadcast
        self._closed = asyncio.Condition()

    # -- lifecycle (each returns (changed, reason); raises PollError for a request that makes no sense)

    async def open(
        self,
        poll_id: str,
        title: str,
        choices: list[ev.PollChoice],
        kind: str = "choice",
        allow_change: bool = False,
        dimension: str | None = None,
        stage: int | None = None,
        duration_s: float | None = None,
    ) -> tuple[bool, str]:
        async with self._lock:
            if poll_id in self.state.polls:
                if self.state.polls[poll_id]["status"] == "open":
                    return False, "already open"
                raise PollError(f"poll: {poll_id!r} was used already; poll ids are never reused")
            ids = [c.id for c in choices]
            if len(ids) < 2 or len(set(ids)) != len(ids):
                raise PollError("choices: at least two, with distinct ids")
            status = await self.store.open(poll_id, ids, allow_change, self.votes_per_ip)
            if status != "opened" and status != "open":
                raise PollError(f"poll: {poll_id!r} exists in Redis already ({status}); ids are never reused")
            closes = self.clock() + duration_s if duration_s else None
            await self.publish(
                ev.PollOpened(
                    data=ev.PollOpenedData(
                        poll_id=poll_id,
                        title=title,
                        kind=kind,
                        choices=choices,
                        allow_change=allow_change,
                        dimension=dimension,
                        stage=stage,
                        closes_ts=closes,
                    )
                ),
                channels=ev.EVERYONE,
            )
            self._published[poll_id] = {}
            return True, ""

    async def close(self, poll_id: str, winner: str | None = None) -> tuple[bool, str]:
        """Close and publish the final counts; ``winner`` is the director's override."""
        async with self._lock:
            poll = self._poll(poll_id)
            if winner is not None and winner not in [c["id"] for c in poll["choices"]]:
                raise PollError(f"winner: {winner!r} is not one of the poll's choices")
            if poll["status"] == "closed":
                return False, "already closed"
            await self.store.close(poll_id)  # from here on the vote script refuses this poll
            counts = await self.store.counts(poll_id)
            choices = [c["id"] for c in poll["choices"]]
            decided_by = "director" if winner else "audience"
            winner = winner or winner_of(counts, choices)
            closed = ev.PollClosedData(
                poll_id=poll_id,
                counts=counts,
                total=sum(counts.values()),
                winner=winner,
                decided_by=decided_by if winner else "none",
            )
            await self.publish(ev.PollClosed(data=closed), channels=ev.ON_AIR)
            if poll["revealed"]:
                await self.publish(ev.PollClosed(data=closed), channels=AUDIENCE)
            else:  # phones learn it closed, not how it went
                hidden = ev.PollClosedData(poll_id=poll_id, counts={}, total=0, winner=None, decided_by="none")
                await self.publish(ev.PollClosed(data=hidden), channels=AUDIENCE)
        async with self._closed:
            self._closed.notify_all()
        return True, ""

    async def reveal(self, poll_id: str) -> tuple[bool, str]:
        async with self._lock:
            poll = self._poll(poll_id)
            if poll["revealed"]:
                return False, "already revealed"
            await self.publish(ev.PollRevealed(data=ev.PollRevealedData(poll_id=poll_id)), channels=ev.EVERYONE)
            if poll["status"] == "closed":
                final = {k: poll[k] for k in ("counts", "total", "winner", "decided_by")}
                await self.publish(ev.PollClosed(data=ev.PollClosedData(poll_id=poll_id, **final)), channels=AUDIENCE)
            else:
                counts = await self.store.counts(poll_id)
                tally = ev.PollTallyData(poll_id=poll_id, counts=counts, total=sum(counts.values()))
                await self.publish(ev.PollTally(data=tally), channels=AUDIENCE)
            return True, ""

    def _poll(self, poll_id: str) -> dict:
        poll = self.state.polls.get(poll_id)
        if poll is None:
            raise PollError(f"poll: no poll {poll_id!r}")
        return poll

    async def wait_closed(self, poll_id: str) -> dict:
        async with self._closed:
            await self._closed.wait_for(lambda: self.state.polls.get(poll_id, {}).get("status") == "closed")
        return self.state.polls[poll_id]

    # -- coalesced tallies ------------------------------------------------------------------------

    async def run_tallies(self) -> None:
        """Forever: publish each open poll's counts when they changed, at most tally_hz a second."""
        while True:
            started = time.monotonic()
            try:
                await self.publish_tallies()
            except Exception as exc:  # Redis hiccup: the next tick tries again
                log.warning("tally update failed: %s", exc)
            await asyncio.sleep(max(0.0, self.tally_period - (time.monotonic() - started)))

    async def publish_tallies(self) -> None:
        async with self._lock:
            for poll_id, poll in list(self.state.polls.items()):
                if poll["status"] != "open":
                    continue
                counts = await self.store.counts(poll_id)
                last = self._published.get(poll_id, {k: v for k, v in poll["counts"].items() if v})
                if counts == last:
                    continue
                self._published[poll_id] = counts
                channels = ev.ON_AIR + AUDIENCE if poll["revealed"] else ev.ON_AIR
                tally = ev.PollTallyData(poll_id=poll_id, counts=counts, total=sum(counts.values()))
                await self.publish(ev.PollTally(data=tally), channels=channels)

    def open_with_deadline(self) -> list[tuple[str, float]]:
        """Open polls that close themselves, and when (to re-arm their timers after a restart)."""
        return [(pid, p["closes_ts"]) for pid, p in self.state.polls.items() if p["status"] == "open" and p["closes_ts"]]
