"""Stage kind name -> implementation."""

from __future__ import annotations

from .base import Stage
from .speed_qa import SpeedQAStage

STAGE_KINDS: dict[str, type] = {SpeedQAStage.kind: SpeedQAStage}


def make_stage(kind: str) -> Stage:
    try:
        return STAGE_KINDS[kind]()
    except KeyError:
        raise ValueError(f"unknown stage kind {kind!r}; known: {', '.join(sorted(STAGE_KINDS))}") from None
