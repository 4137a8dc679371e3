"""Waiting for the people's verdicts after a stage's answers: the judges' scores."""

from __future__ import annotations

import asyncio
import time

from .base import StageContext


async def wait_for_judges(ctx: StageContext, targets: list[str], wait_s: float) -> None:
    """Until every judge the script names has scored every target, or ``wait_s`` is up."""
    judges = [j.id for j in ctx.script.judging.judges]
    deadline = time.monotonic() + max(0.0, wait_s)
    while judges and time.monotonic() < deadline:
        if all(j in ctx.state.judged.get(t, {}) for t in targets for j in judges):
            return
        await asyncio.sleep(0.25)
