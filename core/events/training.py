"""Contestants' training jobs (ms-swift) and qualification (EvalScope), posted from outside the studio."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from .base import _Data, _Event

__all__ = [
    "TrainingProgressData",
    "TrainingFinishedData",
    "QualificationResultData",
    "TrainingProgress",
    "TrainingFinished",
    "QualificationResult",
]


class TrainingProgressData(_Data):
    """One report from a training job: the CLI's bar, the director's panel and the on-air graphic."""

    contestant: str
    job: str
    kind: Literal["sft", "dpo"]
    step: int = Field(ge=0)
    max_steps: int = Field(ge=0)
    loss: float | None = None
    eta_s: float | None = None
    elapsed_s: float = 0.0
    rank: int = 0  # the reporting rank of a distributed job
    world_size: int = 1


class TrainingFinishedData(_Data):
    contestant: str
    job: str
    kind: Literal["sft", "dpo"]
    status: Literal["completed", "budget_exceeded", "failed"]
    steps: int
    adapter: str | None = None  # the last good checkpoint, as the engine loads it
    reason: str = ""


class QualificationResultData(_Data):
    """A contestant's EvalScope scores (0..1 per benchmark); the leaderboard rates ``score``."""

    contestant: str
    scores: dict[str, float]
    score: float = Field(ge=0, le=1)
    samples: int
    report: str  # where the EvalScope report is kept, under the show's data dir


class TrainingProgress(_Event):
    type: Literal["training.progress"] = "training.progress"
    data: TrainingProgressData


class TrainingFinished(_Event):
    type: Literal["training.finished"] = "training.finished"
    data: TrainingFinishedData


class QualificationResult(_Event):
    type: Literal["qualification.result"] = "qualification.result"
    data: QualificationResultData
