"""The one typed event schema shared by the server, the overlays and the tests.

Every event on every channel has the same envelope: ``seq`` (per channel, monotonic, assigned by
the event log when the event is appended), ``type``, ``ts`` (server wall clock, seconds) and
``data``. ``type`` is the discriminator: ``parse_event`` turns wire JSON back into the right
class. The overlays mirror the type names in ``overlays/gavel-state.js``; ``tests/test_events.py``
checks that the mirror and this module agree. The events are kept by domain in this package's
modules; this face gathers them (``from core import events as ev; ev.AnswerToken``).
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal, Union, get_args

from pydantic import Field, TypeAdapter

from . import answers, audience, graphics, safety, show, stages, training
from .answers import *  # noqa: F403
from .audience import *  # noqa: F403
from .base import CHANNELS, DIRECTOR_ONLY, EVERYONE, ON_AIR, PREVIEW, PROGRAM, _Event
from .graphics import *  # noqa: F403
from .safety import *  # noqa: F403
from .show import *  # noqa: F403
from .stages import *  # noqa: F403
from .training import *  # noqa: F403

__all__ = [
    "CHANNELS",
    "DIRECTOR_ONLY",
    "EVERYONE",
    "ON_AIR",
    "PREVIEW",
    "PROGRAM",
    "Event",
    "Snapshot",
    "parse_event",
    "frame_events",
    "event_types",
    "event_json_schema",
    *answers.__all__,
    *audience.__all__,
    *graphics.__all__,
    *safety.__all__,
    *show.__all__,
    *stages.__all__,
    *training.__all__,
]


class Snapshot(_Event):
    """Sent instead of a replay when the events a client missed are no longer in the log.

    ``data`` is the full show state (``core.state.ShowState.to_dict()``) as of ``seq``.
    Never stored in the log itself.
    """

    type: Literal["snapshot"] = "snapshot"
    data: dict[str, Any]


Event = Annotated[
    Union[
        ShowOpened,
        DirectorCommand,
        ShowStatus,
        StageStarted,
        StageEnded,
        QuestionAsked,
        AnswerStarted,
        AnswerToken,
        AnswerFinished,
        AnswerFairness,
        AnswerGraded,
        QuestionClosed,
        Scoreboard,
        GraphicCued,
        GraphicsTaken,
        GraphicsCleared,
        GraphicsRefresh,
        GraphicsClient,
        PollOpened,
        PollTally,
        PollClosed,
        PollRevealed,
        JudgeScored,
        Leaderboard,
        SafetyHit,
        SafetyResolved,
        InputRefused,
        AnswerDumped,
        DebateStarted,
        DebateTurn,
        DebateResult,
        SubtitleStarted,
        SubtitleSource,
        SubtitleToken,
        SubtitleTranslated,
        SubtitleSummary,
        ImageShown,
        PoemForm,
        AnswerPath,
        Attention,
        StoreOutage,
        ProgramDropped,
        EngineFault,
        TrainingProgress,
        TrainingFinished,
        QualificationResult,
        Snapshot,
    ],
    Field(discriminator="type"),
]

_event_adapter: TypeAdapter[Event] = TypeAdapter(Event)


def parse_event(raw: str | bytes | dict) -> Event:
    """Parse one event from wire JSON (or a dict); raises pydantic.ValidationError."""
    if isinstance(raw, dict):
        return _event_adapter.validate_python(raw)
    return _event_adapter.validate_json(raw)


def frame_events(raw: str | bytes) -> list[dict[str, Any]]:
    """The events in one WebSocket frame: a frame holds one event or a JSON array of them."""
    parsed = json.loads(raw)
    return parsed if isinstance(parsed, list) else [parsed]


def event_types() -> list[str]:
    """All type names, for the JS mirror check."""
    union = get_args(Event)[0]
    return sorted(cls.model_fields["type"].default for cls in get_args(union))


def event_json_schema() -> dict[str, Any]:
    return _event_adapter.json_schema()
