"""Uncertain verdicts: deciding the answers the grader could not (the ``decide`` command).

The grader says "uncertain" (``answer.graded`` with ``correct`` None, stages/exact_answer.py) when
a reply hedges between the answer and another, commits to two answers, or names the answer
without committing to it. Such a verdict airs as neither right nor wrong, and the show goes on:
the stage does not wait. It waits in ``ShowState.uncertain`` until someone decides it:

- the director, from the panel (a key and a button), or a judge from the judges' page — both are
  the ``decide`` command ``{question_id, contestant, correct}``, idempotent by command_id and
  logged as a ``director.command`` like every command (``by`` says who: director, judge:<id>);
- under autopilot, autopilot itself: the uncertain verdict is stamped with ``autodecide_ts``
  (now + the script's ``grading.uncertain_timeout_s``) as it is published, so the panel can count
  down to it, and at that moment autopilot decides it wrong with the same command (by
  "autopilot", command_id ``autopilot-decide-<question>-<contestant>``: a restart re-arms the
  timer from the stamp and cannot decide twice).

A decision is a second ``answer.graded`` for the same answer, with ``decided_by`` and the reason;
replay, export, the leaderboard (which re-rates a question decided after it closed) and both
reducers read it like any verdict. While the decided question's stage is on air, its scoreboard
is published again so the count includes the decision. A decide with nothing uncertain to decide
(never uncertain, or decided already) is refused with the reason and changes nothing.
"""

from __future__ import annotations

import asyncio
from typing import Awaitable, Callable

from core import events as ev
from core.state import ShowState
from results.scoring import score_rows


class DecisionDesk:
    def __init__(
        self,
        state: ShowState,
        publish: Callable[..., Awaitable[None]],
        command: Callable[..., Awaitable[object]],
        spawn: Callable[[Awaitable[None]], asyncio.Task],
        clock: Callable[[], float],
        autopilot: bool,
        timeout_s: float,
    ):
        self.state = state
        self.publish = publish
        self.command = command
        self.spawn = spawn
        self.clock = clock
        self.autopilot = autopilot
        self.timeout_s = timeout_s
        self._armed: set[str] = set()

    def stamp(self, event: ev.Event) -> None:
        """Under autopilot, an uncertain verdict says when autopilot will decide it (before it is logged)."""
        if (
            self.autopilot
            and isinstance(event, ev.AnswerGraded)
            and event.data.correct is None
            and event.data.decided_by is None
            and event.data.autodecide_ts is None
        ):
            event.data.autodecide_ts = self.clock() + self.timeout_s

    def seen(self, event: ev.Event) -> None:
        """After an event reached the state: arm autopilot's timer for a new uncertain verdict."""
        if isinstance(event, ev.AnswerGraded) and event.data.correct is None:
            self._arm(event.data.question_id, event.data.contestant, event.data.autodecide_ts)

    def rearm(self) -> None:
        """After a restart: the timers of the verdicts still waiting, from their stamps."""
        for entry in list(self.state.uncertain.values()):
            self._arm(entry["question_id"], entry["contestant"], entry.get("autodecide_ts") or self.clock() + self.timeout_s)

    def _arm(self, question_id: str, contestant: str, at: float | None) -> None:
        key = f"{question_id}:{contestant}"
        if self.autopilot and at is not None and key not in self._armed:
            self._armed.add(key)
            self.spawn(self._autodecide(question_id, contestant, at))

    async def _autodecide(self, question_id: str, contestant: str, at: float) -> None:
        key = f"{question_id}:{contestant}"
        try:
            await asyncio.sleep(max(0.0, at - self.clock()))
            if key in self.state.uncertain:  # nobody decided it meanwhile
                await self.command(
                    "decide",
                    f"autopilot-decide-{question_id}-{contestant}"[:100],
                    "autopilot",
                    {"question_id": question_id, "contestant": contestant, "correct": False},
                )
        finally:
            self._armed.discard(key)

    async def decide(self, args: dict, by: str) -> tuple[bool, bool, str]:
        question_id, contestant, correct = args.get("question_id"), args.get("contestant"), args.get("correct")
        if not isinstance(question_id, str) or not isinstance(contestant, str):
            return False, False, "question_id and contestant: which uncertain answer to decide"
        if not isinstance(correct, bool):
            return False, False, "correct: true (right) or false (wrong)"
        waiting = self.state.uncertain.get(f"{question_id}:{contestant}")
        if waiting is None:
            return False, False, f"nothing uncertain to decide: {contestant} on {question_id} is not waiting for a decision"
        word = "right" if correct else "wrong"
        why = f"decided {word} by {by}"
        if by == "autopilot":
            why += f": nobody decided within {self.timeout_s:g} s"
        await self.publish(
            ev.AnswerGraded(
                data=ev.AnswerGradedData(
                    question_id=question_id,
                    contestant=contestant,
                    correct=correct,
                    extracted=waiting.get("extracted"),
                    expected=waiting.get("expected", ""),
                    reason=f"{why} (grader: {waiting.get('reason', '')})",
                    decided_by=by,
                )
            )
        )
        stage = waiting.get("stage")
        if stage is not None and stage == self.state.current_stage and self.state.stage_status(stage) == "running":
            contestants = [c["id"] for c in self.state.contestants]
            rows = score_rows(contestants, [self.state.results.get(stage, {})])
            await self.publish(ev.Scoreboard(data=ev.ScoreboardData(stage=stage, rows=rows)))
        return True, True, f"{contestant} on {question_id}: {word}"
