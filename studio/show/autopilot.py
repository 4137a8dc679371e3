"""The autopilot: a director for an unattended show (``gavel demo``, ``gavel serve --autopilot``).

It moves the rundown on and plays the script's graphics plan (core/graphics_plan.py) with the
same commands a director gives — ``cue`` and ``take`` for graphics, ``start`` and ``next`` for
the rundown — so everything it does is logged as ``director.command`` events ``by: autopilot``,
and a director at the panel can still cue anything by hand.

The show's shape on autopilot: the opening (the show's title card, each contestant's lower
third), then for each stage its intro (title card), ``start``/``next``, its live graphics (put on
program as the stage starts, everything else off), its cues on events, its outro (radar,
leaderboard); after the last stage the closing (the end card, left on air) and the final ``next``
that completes the show. Changes go through one queue, so they reach program in order.

Command ids are derived from where in the show they happen (``autopilot:intro:2:0``…): after a
restart the autopilot plays its part again and every step already taken returns its logged
result without acting twice.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Awaitable, Callable

from core import events as ev
from core.graphics_plan import GraphicItem, StagePlan, expand_steps, item, stage_plan
from core.script import ShowScript
from core.state import ShowState

log = logging.getLogger("gavel.autopilot")

Command = Callable[..., Awaitable[Any]]  # ShowController.command(name, command_id, by, args)
BY = "autopilot"


class Autopilot:
    def __init__(self, script: ShowScript, state: ShowState, command: Command):
        self.script, self.state, self.command = script, state, command
        self.graphics = script.graphics
        self.plans: list[StagePlan] = [stage_plan(s.kind, i, s.graphics) for i, s in enumerate(script.stages)]
        self.contestants = [c.id for c in script.contestants]
        self._queue: asyncio.Queue[Callable[[], Awaitable[None]]] = asyncio.Queue()

    # -- what the controller calls ------------------------------------------------------------

    async def run(self) -> None:
        """Apply queued changes one at a time, in order (the controller runs this as a task)."""
        while True:
            action = await self._queue.get()
            try:
                await action()
            except Exception:
                log.exception("autopilot step failed; the show goes on")

    def open_show(self) -> None:
        """A fresh show: the opening, then the first stage."""
        self._queue.put_nowait(self._open_show)

    def after_stage(self, index: int) -> None:
        """A stage ended: its outro, then the next stage's intro and ``next`` (or the closing)."""
        self._queue.put_nowait(lambda: self._after_stage(index))

    def observe(self, event: ev.Event) -> None:
        """Every event the controller published: a stage starting goes live; cues fire."""
        if not self.graphics.autopilot:
            return
        if isinstance(event, ev.StageStarted):
            index = event.data.index
            self._queue.put_nowait(lambda: self._go_live(index))
            return
        stage = self.state.current_stage
        if stage is None or self.state.stage_status(stage) != "running":
            return
        for n, cue in enumerate(self.plans[stage].cues):
            if cue.on == event.type:
                key = f"cue:{event.seq}:{n}"
                action = lambda cue=cue, key=key: self._apply_cue(cue, key)  # noqa: E731
                if cue.after_s > 0:
                    asyncio.get_running_loop().call_later(cue.after_s, self._queue.put_nowait, action)
                else:
                    self._queue.put_nowait(action)

    # -- the rundown ----------------------------------------------------------------------------

    # A director at the panel may move the show on while the autopilot plays a sequence (START
    # during the opening, NEXT during an outro): the autopilot then drops the rest of it, so no
    # title card lands on a stage that is already running.

    async def _open_show(self) -> None:
        def still() -> bool:
            return self.state.status == "idle"

        if not await self._steps(expand_steps(self.graphics.opening, self.contestants), "open", False, still):
            return
        if self.plans and not await self._steps(self.plans[0].intro, "intro:0", True, still):
            return
        await self.command("start", "autopilot-start", BY)

    async def _after_stage(self, index: int) -> None:
        def still() -> bool:
            return self.state.current_stage == index and self.state.stage_status(index) != "running" and not self.state.ended

        if not await self._steps(self.plans[index].outro, f"outro:{index}", True, still):
            return
        following = index + 1
        if following < len(self.plans):
            await asyncio.sleep(self.script.show.autopilot_pause_s)
            if not await self._steps(self.plans[following].intro, f"intro:{following}", True, still):
                return
        elif not await self._steps(expand_steps(self.graphics.closing, self.contestants), "closing", True, still):
            return
        # "next" after the last stage completes the show, as it does for a director.
        await self.command("next", f"autopilot-next-{index}", BY)

    async def _go_live(self, index: int) -> None:
        await self._program({i.graphic: i.data for i in self.plans[index].live}, exclusive=True, key=f"live:{index}")

    # -- graphics -------------------------------------------------------------------------------

    async def _steps(self, steps: list[GraphicItem], key: str, keep_last: bool, still: Callable[[], bool]) -> bool:
        """Each step alone on program for its hold; the last one stays if ``keep_last``. False
        (and nothing more aired) once ``still()`` says the show has moved on without us."""
        if not still():
            return False
        if not self.graphics.autopilot or not steps:
            return True
        for n, step in enumerate(steps):
            await self._program({step.graphic: step.data}, exclusive=True, key=f"{key}:{n}")
            await asyncio.sleep(step.hold_s or self.graphics.hold_s)
            if not still():
                return False
        if not keep_last:
            await self._program({}, exclusive=True, key=f"{key}:out")
        return True

    async def _apply_cue(self, cue, key: str) -> None:
        shown = [item(ref) for ref in cue.show]
        await self._program({i.graphic: i.data for i in shown}, exclusive=False, key=key, hide=cue.hide)
        for one in shown:
            if one.hold_s:
                hide = lambda one=one: self._program({}, exclusive=False, key=f"{key}:held:{one.graphic}", hide=[one.graphic])  # noqa: E731
                asyncio.get_running_loop().call_later(one.hold_s, self._queue.put_nowait, hide)

    async def _program(self, wanted: dict[str, dict], exclusive: bool, key: str, hide: list[str] = ()) -> None:
        """Make program show ``wanted`` (and, if ``exclusive``, nothing else; else also drop
        ``hide``): cue each change on preview, then one take."""
        program = self.state.graphics["program"]
        changes: dict[str, dict] = {}
        for name, shown in program.items():
            if shown.get("visible") and name not in wanted and (exclusive or name in hide):
                changes[name] = {"graphic": name, "visible": False, "data": shown.get("data", {})}
        for name, data in wanted.items():
            now = program.get(name, {})
            if not (now.get("visible") and now.get("data", {}) == data):
                changes[name] = {"graphic": name, "visible": True, "data": data}
        if not changes:
            return
        for n, args in enumerate(changes.values()):
            await self.command("cue", f"autopilot:{key}:{n}", BY, args)
        await self.command("take", f"autopilot:{key}:take", BY)
