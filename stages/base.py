"""The small protocol every stage kind implements, and what the controller hands it.

A stage is pure show logic: it asks the engine pool, publishes typed events and reads the show
state, all through the context, so it can be tested with a real engine and no sockets.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Awaitable, Callable, Protocol

from core.events import Event
from core.locale import Messages
from core.script import ShowScript
from core.state import ShowState
from engine_pool.pool import EnginePool
from safety import Verdict

EmitText = Callable[[str, int], Awaitable[None]]  # (released text, engine tokens so far)


class AnswerGuard(Protocol):
    """One answer's content filter: text fed in is released to air (masked, held or withheld)."""

    withheld_reason: str | None

    async def feed(self, text: str, tokens: int) -> None: ...

    async def finish(self) -> None: ...


class ContentGuard(Protocol):
    """The show's content filter as stages use it (the studio's safety desk is one)."""

    def check(self, text: str) -> Verdict: ...

    def would_filter(self, context: str, alternative: str) -> bool: ...

    async def refuse_input(self, stage: int | None, source: str, verdict: Verdict) -> None: ...

    def guard(self, question_id: str, contestant: str, emit: EmitText) -> AnswerGuard: ...

    def release(self, guard: AnswerGuard) -> None: ...


class Explainer(Protocol):
    """Attention heatmaps as stages use them (the studio's explain desk is one)."""

    def record(self, question_id: str, contestant: str, messages: list[dict[str, str]], aired: str, raw: str, status: str) -> None: ...

    async def request(self, question_id: str, contestant: str, aggregate: str | None = None) -> tuple[bool, bool, str]: ...


@dataclass
class StageContext:
    index: int
    spec: Any  # the stage's validated section of the show script
    script: ShowScript
    pool: EnginePool
    state: ShowState  # the controller's state, kept current as events are published
    publish: Callable[[Event], Awaitable[None]]  # append to the on-air channels
    wait_if_paused: Callable[[], Awaitable[None]]  # returns at once unless the director paused
    clock: Callable[[], float]  # server wall clock (seconds), for deadlines shown on air
    # audience polls: open one (returns ok, changed, reason) and wait until it has closed
    open_poll: Callable[..., Awaitable[tuple[bool, bool, str]]] | None = None
    wait_poll_closed: Callable[[str], Awaitable[dict]] | None = None
    safety: ContentGuard | None = None  # the content filter: inputs checked, answers guarded
    interrupt: asyncio.Event | None = None  # set by the director's "cut": the turn on air ends now
    images_dir: Path | None = None  # where the director's uploaded pictures are ("upload:<id>")
    explain: Explainer | None = None  # attention heatmaps: answers are recorded for it

    @property
    def contestant_ids(self) -> list[str]:
        return [c.id for c in self.script.contestants]

    @property
    def messages(self) -> Messages:
        """The text a stage puts on air itself (poll titles…), in the show's language."""
        return Messages(self.script.show.locale)


class Stage(Protocol):
    kind: str

    async def run(self, ctx: StageContext) -> None:
        """Play the stage to its end. Cancellation means the director skipped or aborted it.

        After a crash the controller runs the stage again with the state rebuilt from the log;
        the stage must continue where the log says it was (e.g. skip questions already closed).
        """
