"""Stage kind name -> implementation."""

from __future__ import annotations

from .base import Stage
from .debate import DebateStage
from .speed_qa import SpeedQAStage
from .surprise import SurpriseStage

STAGE_KINDS: dict[str, type] = {SpeedQAStage.kind: SpeedQAStage, SurpriseStage.kind: SurpriseStage}
STAGE_KINDS[DebateStage.kind] = DebateStage


def make_stage(kind: str) -> Stage:
    try:
        return STAGE_KINDS[kind]()
    except KeyError:
        raise ValueError(f"unknown stage kind {kind!r}; known: {', '.join(sorted(STAGE_KINDS))}") from None
