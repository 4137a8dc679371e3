"""The judges' desk: each judge scores each answer once, 1–10 on the criteria the script names.

A judge is known by their own token, never by what the request says, so nobody scores for
another judge. "Once" is enforced in Redis (``SET NX`` per judge and target) before the score is
appended to the log as ``judge.scored``; the log is the record the leaderboard is computed from.
Scores are taken one at a time, so a mark with no score in the log can only be left by an attempt
that failed half-way (Redis dropped the connection after the ``SET``): the judge's retry then
records the score instead of being told it already was.
"""

from __future__ import annotations

import asyncio
from typing import Any, Awaitable, Callable

import redis.asyncio as aioredis

from core import events as ev
from core.events import answer_target
from core.script import ShowScript
from core.state import ShowState

SCORE_RANGE = (1, 10)


class JudgeError(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status, self.message = status, message


class JudgeDesk:
    def __init__(self, client: aioredis.Redis, script: ShowScript, state: ShowState, publish: Callable[..., Awaitable[None]]):
        self.client = client
        self.script = script
        self.state = state
        self.publish = publish
        self.criteria = list(script.judging.criteria)
        self.names = {j.id: j.name for j in script.judging.judges}
        self._one_at_a_time = asyncio.Lock()

    def targets(self, judge: str) -> list[dict[str, Any]]:
        """Everything scorable so far, newest question first, with this judge's own scores."""
        out = []
        for stage, questions in sorted(self.state.results.items(), reverse=True):
            for question_id in reversed(list(questions)):
                for contestant, result in questions[question_id].items():
                    target = answer_target(stage, question_id, contestant)
                    out.append(
                        {
                            "target": target,
                            "stage": stage,
                            "item": f"{stage}:{question_id}",
                            "question": self.state.question_texts.get(question_id, question_id),
                            "contestant": contestant,
                            "answer": result.text,
                            "status": result.status,
                            "scored": self.state.judged.get(target, {}).get(judge),
                            # an uncertain verdict a judge may decide (POST /api/judge/decide)
                            "uncertain": self._uncertain(stage, question_id, contestant),
                        }
                    )
        return out

    def _uncertain(self, stage: int, question_id: str, contestant: str) -> dict[str, Any] | None:
        waiting = self.state.uncertain.get(f"{question_id}:{contestant}")
        if waiting is None or waiting.get("stage") != stage:
            return None
        return {
            "question_id": question_id,
            "contestant": contestant,
            "expected": waiting.get("expected", ""),
            "extracted": waiting.get("extracted"),
            "reason": waiting.get("reason", ""),
        }

    def _find(self, target: str) -> tuple[int, str, str]:
        try:
            kind, stage, question_id, contestant = target.split(":", 3)
            if kind != "answer":
                raise ValueError
            stage_index = int(stage)
        except ValueError:
            raise JudgeError(400, "target: expected answer:<stage>:<question_id>:<contestant>") from None
        if contestant not in self.state.results.get(stage_index, {}).get(question_id, {}):
            raise JudgeError(404, f"target: no finished answer {target!r} to score")
        return stage_index, question_id, contestant

    def validate(self, scores: Any) -> dict[str, int]:
        if not isinstance(scores, dict):
            raise JudgeError(400, "scores: must be an object of criterion -> 1..10")
        unknown = sorted(set(scores) - set(self.criteria))
        if unknown:
            raise JudgeError(400, f"scores: unknown criteria {', '.join(map(repr, unknown))}; this show scores {', '.join(self.criteria)}")
        missing = [c for c in self.criteria if c not in scores]
        if missing:
            raise JudgeError(400, f"scores: missing {', '.join(missing)}")
        low, high = SCORE_RANGE
        for criterion, value in scores.items():
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                raise JudgeError(400, f"scores.{criterion}: must be a whole number from {low} to {high}")
        return {c: scores[c] for c in self.criteria}

    async def score(self, judge: str, target: str, scores: Any) -> ev.JudgeScoredData:
        stage, question_id, contestant = self._find(target)
        clean = self.validate(scores)
        key = f"gavel:{{{self.script.show.id}}}:judged:{judge}:{target}"
        async with self._one_at_a_time:
            if not await self.client.set(key, "1", nx=True) and judge in self.state.judged.get(target, {}):
                raise JudgeError(409, f"judge {judge!r} has already scored {target}: a score cannot be changed")
            data = ev.JudgeScoredData(
                judge=judge, target=target, stage=stage, item=f"{stage}:{question_id}", contestant=contestant, scores=clean
            )
            await self.publish(ev.JudgeScored(data=data), channels=ev.DIRECTOR_ONLY)
        return data
