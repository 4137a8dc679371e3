"""Stage kind name -> implementation."""

from __future__ import annotations

from .base import Stage
from .debate import DebateStage
from .image_poem import ImagePoemStage
from .speed_qa import SpeedQAStage
from .subtitles import SubtitlesStage
from .surprise import SurpriseStage
from .values_arena import ValuesArenaStage

STAGE_KINDS: dict[str, type] = {
    cls.kind: cls for cls in (SpeedQAStage, SurpriseStage, DebateStage, ValuesArenaStage, SubtitlesStage, ImagePoemStage)
}


def make_stage(kind: str) -> Stage:
    try:
        return STAGE_KINDS[kind]()
    except KeyError:
        raise ValueError(f"unknown stage kind {kind!r}; known: {', '.join(sorted(STAGE_KINDS))}") from None
