"""The show's rundown: opened, status, stages, the director's commands, the store and engine faults, and
what the broadcast delay could not air."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from .base import _Data, _Event

__all__ = [
    "ContestantInfo",
    "StageInfo",
    "ShowOpenedData",
    "DirectorCommandData",
    "ShowStatusData",
    "StageStartedData",
    "StageEndedData",
    "StoreOutageData",
    "EngineFaultData",
    "ProgramDroppedData",
    "ShowOpened",
    "DirectorCommand",
    "ShowStatus",
    "StageStarted",
    "StageEnded",
    "StoreOutage",
    "EngineFault",
    "ProgramDropped",
]


class ContestantInfo(_Data):
    id: str
    name: str
    team: str = ""
    engine: str = ""  # the engine-pool entry serving this contestant (for per-contestant health)
    model: str = ""
    adapter: str | None = None


class StageInfo(_Data):
    index: int
    kind: str
    title: str


class ShowOpenedData(_Data):
    show_id: str
    title: str
    stages: list[StageInfo]
    contestants: list[ContestantInfo]
    locale: str = "en"  # the on-air language (core/locale.py)
    messages: dict[str, str] = Field(default_factory=dict)  # its message table: every page's fixed text


class DirectorCommandData(_Data):
    command: str
    command_id: str
    by: str
    accepted: bool
    reason: str = ""
    args: dict[str, Any] = Field(default_factory=dict)


class ShowStatusData(_Data):
    status: Literal["running", "paused", "completed", "aborted"]


class StageStartedData(StageInfo):
    pass


class StageEndedData(_Data):
    index: int
    status: Literal["completed", "skipped", "aborted"]


class StoreOutageData(_Data):
    """The show's store (Redis) was unreachable; logged once it is back, since nothing can be
    logged while it is gone (meanwhile ``GET /api/state`` says ``store.ok: false``)."""

    store: Literal["redis"] = "redis"
    began_ts: float
    ended_ts: float
    duration_s: float
    error: str  # the first failure, as the client saw it
    restarted: bool  # the studio restarted its embedded server itself


class EngineFaultData(_Data):
    """An engine failed one answer (crash, error, hang past the time limit): that answer ended
    as a DNF or a timeout, the others go on."""

    engine: str
    contestant: str
    question_id: str
    status: Literal["dnf", "timeout"]
    reason: str


class ProgramDroppedData(_Data):
    """The broadcast delay gave up on an event bound for program: it could not be appended
    (tried ``tries`` times), so it never aired; later events went on in order."""

    event_type: str
    question_id: str | None = None  # the answer it belonged to, if any
    contestant: str | None = None
    tries: int
    error: str


class ShowOpened(_Event):
    type: Literal["show.opened"] = "show.opened"
    data: ShowOpenedData


class DirectorCommand(_Event):
    type: Literal["director.command"] = "director.command"
    data: DirectorCommandData


class ShowStatus(_Event):
    type: Literal["show.status"] = "show.status"
    data: ShowStatusData


class StageStarted(_Event):
    type: Literal["stage.started"] = "stage.started"
    data: StageStartedData


class StageEnded(_Event):
    type: Literal["stage.ended"] = "stage.ended"
    data: StageEndedData


class StoreOutage(_Event):
    type: Literal["store.outage"] = "store.outage"
    data: StoreOutageData


class EngineFault(_Event):
    type: Literal["engine.fault"] = "engine.fault"
    data: EngineFaultData


class ProgramDropped(_Event):
    type: Literal["program.dropped"] = "program.dropped"
    data: ProgramDroppedData
