"""What every event shares: the channels, the envelope (``seq``, ``type``, ``ts``, ``data``)."""

from __future__ import annotations

import time

from pydantic import BaseModel, ConfigDict, Field

CHANNELS = ("program", "preview", "director", "audience")
ON_AIR = ("program", "preview", "director")  # what a stage event is published to
EVERYONE = ("program", "preview", "director", "audience")  # viewers' phones included
DIRECTOR_ONLY = ("director",)
PREVIEW = ("preview", "director")
PROGRAM = ("program", "director")


class _Data(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Event(BaseModel):
    model_config = ConfigDict(extra="forbid")
    seq: int = 0  # assigned by the event log; 0 until appended
    ts: float = Field(default_factory=time.time)
