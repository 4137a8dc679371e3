"""The director's graphics commands: cue on preview, take preview to program, panic, refresh.

Graphics state lives in the log like everything else: ``graphic.cued`` changes preview,
``graphics.taken`` carries program's whole state (a page that joins late needs no history),
``graphics.cleared`` is panic on every output. The pages connected are registered here too, as
``graphics.client`` events (the panel's registry of outputs is this log).
"""

from __future__ import annotations

from typing import Awaitable, Callable

from core import events as ev
from core.graphics import DEFAULT_ON_AIR, GRAPHICS
from core.state import ShowState

Outcome = tuple[bool, bool, str]  # ok, changed, reason: as every command answers


class GraphicsDesk:
    def __init__(self, state: ShowState, publish: Callable[..., Awaitable[None]]):
        self.state, self.publish = state, publish

    async def cue(self, args: dict) -> Outcome:
        graphic = args.get("graphic")
        if graphic not in GRAPHICS:
            return False, False, f"graphic: unknown {graphic!r}; known: {', '.join(GRAPHICS)}"
        visible, data = args.get("visible", True), args.get("data", {})
        if not isinstance(visible, bool):
            return False, False, "visible: must be true or false"
        if not isinstance(data, dict):
            return False, False, "data: must be an object"
        cued = {"visible": visible, "data": data}
        if self.state.graphics["preview"].get(graphic) == cued:
            return True, False, "already on preview like that"
        await self.publish(ev.GraphicCued(data=ev.GraphicCuedData(graphic=graphic, **cued)), channels=ev.PREVIEW)
        return True, True, ""

    async def take(self, args: dict) -> Outcome:
        preview = self.state.graphics["preview"]
        if self.state.graphics["program"] == preview:
            return True, False, "program already shows preview"
        await self.publish(ev.GraphicsTaken(data=ev.GraphicsTakenData(graphics=preview)), channels=ev.PROGRAM)
        return True, True, ""

    async def panic(self, args: dict) -> Outcome:
        anything_on = any(g["visible"] for output in self.state.graphics.values() for g in output.values())
        # Published even when nothing shows: a page that missed an event must still go clear.
        await self.publish(ev.GraphicsCleared(data=ev.GraphicsClearedData(reason="panic")))
        return True, anything_on, "" if anything_on else "nothing was on"

    async def refresh(self, args: dict) -> Outcome:
        target = args.get("target", "all")
        if not isinstance(target, str) or not target:
            return False, False, "target: a client id, a graphic name or 'all'"
        await self.publish(ev.GraphicsRefresh(data=ev.GraphicsRefreshData(target=target)))
        return True, True, ""

    async def open_show(self) -> None:
        """What program and preview show when a show opens, before any director action."""
        for graphic in sorted(DEFAULT_ON_AIR):
            await self.publish(ev.GraphicCued(data=ev.GraphicCuedData(graphic=graphic, visible=True)), channels=ev.PREVIEW)
        await self.publish(ev.GraphicsTaken(data=ev.GraphicsTakenData(graphics=self.state.graphics["preview"])), channels=ev.PROGRAM)

    async def client(self, data: ev.GraphicsClientData) -> None:
        """Record a graphics page arriving or leaving."""
        await self.publish(ev.GraphicsClient(data=data), channels=ev.DIRECTOR_ONLY)
