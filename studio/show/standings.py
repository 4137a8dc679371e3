"""The leaderboard kept current during the show: recomputed from the rated events after each
result (results/leaderboard.py), published when it changed, at most twice a second."""

from __future__ import annotations

import asyncio
from typing import Awaitable, Callable

from core import events as ev
from core.script import ShowScript
from core.state import ShowState
from results.leaderboard import compute_leaderboard

# What the leaderboard is computed from; kept in memory, in log order.
RATED_EVENTS = (
    ev.ShowOpened,
    ev.AnswerFinished,
    ev.AnswerGraded,
    ev.QuestionClosed,
    ev.JudgeScored,
    ev.PollOpened,
    ev.PollClosed,
    ev.DebateResult,
    ev.QualificationResult,
)
# A qualification.result is written before the show by `gavel contestants qualify`, so the
# controller meets it when it opens the log; one published in-process re-rates like the rest.
RERATE_ON = (ev.QuestionClosed, ev.JudgeScored, ev.PollClosed, ev.DebateResult, ev.QualificationResult)


class Standings:
    def __init__(self, script: ShowScript, state: ShowState, publish: Callable[..., Awaitable[None]]):
        self.script, self.state, self.publish = script, state, publish
        self._rated: list[ev.Event] = []
        self._rerate = asyncio.Event()

    def note(self, event: ev.Event, live: bool = True) -> None:
        """An event of the log; ``live``: just published (a result re-rates), else read at open."""
        if isinstance(event, RATED_EVENTS):
            self._rated.append(event)
            decided = isinstance(event, ev.AnswerGraded) and event.data.decided_by
            if live and (isinstance(event, RERATE_ON) or decided):
                self._rerate.set()

    async def run(self) -> None:
        self._rerate.set()  # same log, same leaderboard: published again only if it differs
        while True:
            await self._rerate.wait()
            self._rerate.clear()
            board = await asyncio.to_thread(
                compute_leaderboard,
                list(self._rated),
                weights=self.script.leaderboard.weights,
                criteria_dimensions=self.script.judging.criteria,
                bootstrap_rounds=self.script.leaderboard.bootstrap_rounds,
            )
            current = self.state.leaderboard
            if current is not None and {**current, "through_seq": 0} == {**board.model_dump(), "through_seq": 0}:
                continue
            if not board.matches and current is None:
                continue  # nothing to rank yet
            await self.publish(ev.Leaderboard(data=board), channels=ev.EVERYONE)
            await asyncio.sleep(0.5)  # at most two boards a second, however fast results come
