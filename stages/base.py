"""The small protocol every stage kind implements, and what the controller hands it.

A stage is pure show logic: it asks the engine pool, publishes typed events and reads the show
state, all through the context, so it can be tested with a real engine and no sockets.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Awaitable, Callable, Protocol

from engine_pool.pool import EnginePool
from studio.events import Event
from studio.explain_desk import ExplainDesk
from studio.locale import Messages
from studio.safety.desk import SafetyDesk
from studio.show_script import ShowScript
from studio.show_state import ShowState


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
    safety: SafetyDesk | None = None  # the content filter: inputs checked, answers guarded
    interrupt: asyncio.Event | None = None  # set by the director's "cut": the turn on air ends now
    images_dir: Path | None = None  # where the director's uploaded pictures are ("upload:<id>")
    explain: ExplainDesk | None = None  # attention heatmaps: answers are recorded for it

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
