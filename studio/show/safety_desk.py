"""The safety desk: the content filter at work during the show.

Every answer streams through its own ``AnswerGuard`` (a ``StreamFilter`` plus what it publishes):
only released text becomes ``answer.token`` events, every rule that fires is a ``safety.hit``
event for the director, a cut ends the answer as a DNF ("withheld …") and aborts the request,
and a hold waits for the director's approve/reject (``SafetyDesk.resolve``) — rejected by
itself after ``hold_timeout_s``, because nothing unreviewed may reach air. Inputs are checked
with ``SafetyDesk.check`` before any model sees them.
"""

from __future__ import annotations

import asyncio
from typing import Awaitable, Callable

from core import events as ev
from engine_pool.pool import StopAnswer
from safety.detect import Classifier
from safety.rules import RuleSet
from safety.stream_filter import Release, StreamFilter, Verdict, check_input

Publish = Callable[..., Awaitable[None]]
EmitText = Callable[[str, int], Awaitable[None]]  # (released text, engine tokens so far)


class AnswerGuard:
    def __init__(self, desk: "SafetyDesk", question_id: str, contestant: str, emit: EmitText):
        self.desk = desk
        self.question_id, self.contestant = question_id, contestant
        self.emit = emit
        self.filter = StreamFilter(desk.rules, desk.classifier)
        self.released: list[str] = []
        self.tokens = 0
        self._lock = asyncio.Lock()  # filter steps and their publishing stay in order
        self._decided = asyncio.Event()

    @property
    def text(self) -> str:
        """What went on air (masked), which is what the answer's final text must be."""
        return "".join(self.released)

    @property
    def withheld_reason(self) -> str | None:
        if self.filter.state != "withheld":
            return None
        rules = [h.rule_id for h in self.filter.hits if h.action in ("cut", "hold")]
        return f"withheld by the content filter ({', '.join(dict.fromkeys(rules)) or 'held'})"

    async def feed(self, text: str, tokens: int) -> None:
        """One chunk of the answer; raises StopAnswer when the filter cut it."""
        async with self._lock:
            self.tokens = tokens
            await self._publish(self.filter.feed(text))
        if self.filter.state == "withheld":
            raise StopAnswer(self.withheld_reason)

    async def finish(self) -> None:
        """The answer ended: release the tail; a pending hold waits for the director (or times out)."""
        async with self._lock:
            await self._publish(self.filter.finish())
        if self.filter.state == "held":
            try:
                await asyncio.wait_for(self._decided.wait(), self.desk.hold_timeout_s)
            except TimeoutError:
                await self.resolve(approve=False, decision="timed_out")

    async def resolve(self, approve: bool, decision: str | None = None) -> bool:
        async with self._lock:
            if self.filter.pending_hold is None:
                return False
            releases = self.filter.approve() if approve else self.filter.reject()
            await self.desk.publish(
                ev.SafetyResolved(
                    data=ev.SafetyResolvedData(
                        question_id=self.question_id,
                        contestant=self.contestant,
                        decision=decision or ("approved" if approve else "rejected"),
                    )
                ),
                channels=ev.DIRECTOR_ONLY,
            )
            await self._publish(releases)
            if self.filter.pending_hold is None:
                self._decided.set()
            return True

    async def _publish(self, releases: list[Release]) -> None:
        for release in releases:
            for hit in release.hits:
                await self.desk.publish(
                    ev.SafetyHit(
                        data=ev.SafetyHitData(
                            question_id=self.question_id,
                            contestant=self.contestant,
                            rule=hit.rule_id,
                            action=hit.action,
                            kind=hit.kind,
                            text=hit.text,
                            state=release.state,
                        )
                    ),
                    channels=ev.DIRECTOR_ONLY,
                )
            if release.text:
                self.released.append(release.text)
                await self.emit(release.text, self.tokens)
        if self.filter.state == "withheld":
            self._decided.set()


class SafetyDesk:
    def __init__(self, rules: RuleSet, publish: Publish, hold_timeout_s: float = 20.0, classifier: Classifier | None = None):
        self.rules = rules
        self.classifier = classifier
        self.publish = publish
        self.hold_timeout_s = hold_timeout_s
        self.guards: dict[tuple[str, str], AnswerGuard] = {}  # answers streaming now

    def check(self, text: str) -> Verdict:
        return check_input(text, self.rules, self.classifier)

    def would_filter(self, context: str, alternative: str) -> bool:
        """Would ``alternative``, said right after ``context`` (aired text), fire a rule? For the
        generation path's alternatives, which never aired. Rules only: a classifier judges whole
        sentences, and one token is not one."""
        hits = check_input(context + alternative, self.rules).hits
        return any(hit.raw_span[1] > len(context) for hit in hits)

    async def refuse_input(self, stage: int | None, source: str, verdict: Verdict) -> None:
        await self.publish(
            ev.InputRefused(
                data=ev.InputRefusedData(
                    stage=stage, source=source, rules=list(dict.fromkeys(h.rule_id for h in verdict.hits)), reason=verdict.reason
                )
            ),
            channels=ev.DIRECTOR_ONLY,
        )

    def guard(self, question_id: str, contestant: str, emit: EmitText) -> AnswerGuard:
        guard = AnswerGuard(self, question_id, contestant, emit)
        self.guards[(question_id, contestant)] = guard
        return guard

    def release(self, guard: AnswerGuard) -> None:
        if self.guards.get((guard.question_id, guard.contestant)) is guard:
            del self.guards[(guard.question_id, guard.contestant)]

    async def resolve(self, question_id: str, contestant: str, approve: bool) -> tuple[bool, bool, str]:
        guard = self.guards.get((question_id, contestant))
        if guard is None or guard.filter.pending_hold is None:
            return False, False, f"nothing is held for {contestant} on {question_id}"
        await guard.resolve(approve)
        return True, True, ""
