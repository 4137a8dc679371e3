"""The broadcast delay: ``program`` (air) gets the show ``delay_s`` later than preview and the
director, so the director can dump what should not air.

Events bound for program wait here in order and are appended to the program channel when due;
graphics events (take, panic, refresh) skip the queue — the director's own graphics and panic
must act at once. ``dump`` withdraws answers from air: their text events still waiting are
dropped (an ``answer.dumped`` takes the place of the first one, so a late joiner's program shows
the answer as withdrawn), anything later from those answers is dropped or blanked on its way in,
and air is told at once. What was dropped was never in the program stream, so no reconnect or
replay can bring it back. A studio that dies loses what was waiting: it never airs (fail safe).

An event that cannot be appended is tried a few times (the event log itself already waits out a
Redis outage, up to its ``outage_s``) and then given up: logged as an error, reported to the
director (``program.dropped``), and the events behind it go on in order — program must not stay
held behind one event forever.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from typing import Awaitable, Callable

from core import events as ev
from store.event_log import EventLog, EventLogUnavailable

log = logging.getLogger("gavel.delay")

UNDELAYED = (ev.GraphicCued, ev.GraphicsTaken, ev.GraphicsCleared, ev.GraphicsRefresh, ev.GraphicsClient, ev.AnswerDumped)
# Events that carry a contestant's answer text (answers, and live-subtitle translations).
TOKENS = (ev.AnswerToken, ev.AnswerPath, ev.SubtitleToken)
FINALS = (ev.AnswerFinished, ev.SubtitleTranslated)
ANSWER_TEXT = TOKENS + FINALS
KEYED = (ev.AnswerStarted, ev.AnswerGraded) + ANSWER_TEXT
TRIES = 5  # appends of one event before it is given up (waits 0.2, 0.4, 0.8, 1.6 s between)
Report = Callable[[ev.ProgramDroppedData], Awaitable[None]]


def _answer_key(event: ev.Event) -> tuple[str, str] | None:
    if isinstance(event, KEYED):
        return event.data.question_id, event.data.contestant
    return None


class DelayLine:
    def __init__(self, event_log: EventLog, delay_s: float, clock: Callable[[], float] = time.monotonic, on_dropped: Report | None = None):
        self.log = event_log
        self.delay_s = delay_s
        self.clock = clock
        self.on_dropped = on_dropped  # told of each event given up (the controller tells the director)
        self._queue: deque[tuple[float, ev.Event]] = deque()
        self._wake = asyncio.Event()
        self.dumped: set[tuple[str, str]] = set()  # answers withdrawn from air
        self._reasons: dict[tuple[str, str], str] = {}
        self._marked: set[tuple[str, str]] = set()  # dumped answers whose marker is on the timeline

    def put(self, event: ev.Event) -> None:
        """Queue an event for program; what belongs to a dumped answer never gets in."""
        due = self.clock() + self.delay_s
        for aired in self._scrub(event):
            self._queue.append((due, aired))
        self._wake.set()

    def answers_waiting(self) -> set[tuple[str, str]]:
        return {key for _, event in self._queue if (key := _answer_key(event)) is not None}

    def _scrub(self, event: ev.Event) -> list[ev.Event]:
        """What of ``event`` may go to program: a dumped answer's first text event becomes its
        ``answer.dumped`` marker, later tokens vanish, its final text is blanked."""
        key = _answer_key(event)
        if key is None or key not in self.dumped:
            return [self._shift(event)]
        if isinstance(event, ev.AnswerGraded):  # the grade stays; the answer it quotes (extracted, reason) goes
            return [event.model_copy(update={"data": event.data.model_copy(update={"extracted": None, "reason": ""})})]
        if not isinstance(event, ANSWER_TEXT):
            return [event]
        out: list[ev.Event] = []
        if key not in self._marked:
            self._marked.add(key)
            out.append(_dumped(key, self._reasons[key]))
        if isinstance(event, FINALS):
            out.append(event.model_copy(update={"data": event.data.model_copy(update={"text": ""})}))
        return out

    def _shift(self, event: ev.Event) -> ev.Event:
        """Air runs delay_s behind: a question's countdown on program ends delay_s later too."""
        if isinstance(event, ev.QuestionAsked):
            return event.model_copy(update={"data": event.data.model_copy(update={"deadline_ts": event.data.deadline_ts + self.delay_s})})
        return event

    def dump(self, answers: set[tuple[str, str]], reason: str = "dumped by the director") -> list[ev.AnswerDumped]:
        """Withdraw these answers from air; returns the ``answer.dumped`` events to send now
        (for what program already shows). Nothing of theirs still waiting here will air."""
        fresh = answers - self.dumped
        for key in fresh:
            self.dumped.add(key)
            self._reasons[key] = reason
        waiting, self._queue = self._queue, deque()
        dropped = 0
        for due, event in waiting:
            scrubbed = self._scrub(event) if _answer_key(event) in fresh else [event]
            dropped += not scrubbed
            self._queue.extend((due, e) for e in scrubbed)
        log.warning("dumped %d answer(s); %d waiting event(s) will never air", len(fresh), dropped)
        return [_dumped(key, reason) for key in sorted(fresh)]

    async def run(self) -> None:
        while True:
            if not self._queue:
                self._wake.clear()
                await self._wake.wait()
                continue
            due, event = self._queue[0]
            wait = due - self.clock()
            if wait > 0:
                self._wake.clear()
                try:
                    await asyncio.wait_for(self._wake.wait(), wait)
                except TimeoutError:
                    pass
                continue  # a dump may have changed the head
            self._queue.popleft()
            await self._air(event)

    async def _air(self, event: ev.Event) -> None:
        """Append to program, late rather than never — but not at the cost of everything behind it."""
        for tries in range(1, TRIES + 1):
            try:
                await self.log.append(event, ["program"])
                return
            except EventLogUnavailable as exc:  # the log already waited out the outage's limit
                error = exc
                break
            except Exception as exc:
                error = exc
                if tries < TRIES:
                    log.warning("could not air %s (try %d of %d): %s", event.type, tries, TRIES, exc)
                    await asyncio.sleep(0.2 * 2 ** (tries - 1))
        key = _answer_key(event) or (None, None)
        log.error("gave up airing %s%s after %d tries: %s", event.type, f" ({key[1]}, {key[0]})" if key[0] else "", tries, error)
        dropped = ev.ProgramDroppedData(event_type=event.type, question_id=key[0], contestant=key[1], tries=tries, error=str(error)[:300])
        if self.on_dropped is not None:
            try:
                await self.on_dropped(dropped)
            except Exception as exc:  # the store may still be down: the error line above stands
                log.error("could not tell the director that %s did not air: %s", event.type, exc)


def _dumped(key: tuple[str, str], reason: str) -> ev.AnswerDumped:
    return ev.AnswerDumped(data=ev.AnswerDumpedData(question_id=key[0], contestant=key[1], reason=reason))
