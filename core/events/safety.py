"""Safe on air: the content filter's hits and holds, inputs refused, answers dumped."""

from __future__ import annotations

from typing import Literal

from .base import _Data, _Event

__all__ = [
    "SafetyHitData",
    "SafetyResolvedData",
    "InputRefusedData",
    "AnswerDumpedData",
    "SafetyHit",
    "SafetyResolved",
    "InputRefused",
    "AnswerDumped",
]


class SafetyHitData(_Data):
    """A content-filter rule fired on a contestant's answer (director only)."""

    question_id: str
    contestant: str
    rule: str
    action: Literal["mask", "cut", "hold"]
    kind: Literal["phrase", "regex", "classifier"]
    text: str  # the raw span that matched (the director must see what it was)
    state: Literal["open", "held", "withheld", "done"]  # the answer's filter state after the hit


class SafetyResolvedData(_Data):
    question_id: str
    contestant: str
    decision: Literal["approved", "rejected", "timed_out"]


class InputRefusedData(_Data):
    """An input (question, motion, viewer challenge, upload) refused before any model saw it."""

    stage: int | None
    source: str  # e.g. "question demo-3", "poll choice"
    rules: list[str]
    reason: str


class AnswerDumpedData(_Data):
    question_id: str
    contestant: str
    reason: str  # "dumped by the director"


class SafetyHit(_Event):
    type: Literal["safety.hit"] = "safety.hit"
    data: SafetyHitData


class SafetyResolved(_Event):
    """The director approved or rejected a held span (or the hold timed out: rejected)."""

    type: Literal["safety.resolved"] = "safety.resolved"
    data: SafetyResolvedData


class InputRefused(_Event):
    type: Literal["input.refused"] = "input.refused"
    data: InputRefusedData


class AnswerDumped(_Event):
    """The answer was dumped from the broadcast delay: air shows it as withdrawn, never its text."""

    type: Literal["answer.dumped"] = "answer.dumped"
    data: AnswerDumpedData
