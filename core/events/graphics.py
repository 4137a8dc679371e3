"""The on-air graphics: cued on preview, taken to program, cleared, refreshed; the pages connected."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from .base import _Data, _Event

__all__ = [
    "GraphicState",
    "GraphicCuedData",
    "GraphicsTakenData",
    "GraphicsClearedData",
    "GraphicsRefreshData",
    "GraphicsClientData",
    "GraphicCued",
    "GraphicsTaken",
    "GraphicsCleared",
    "GraphicsRefresh",
    "GraphicsClient",
]


class GraphicState(_Data):
    visible: bool = False
    data: dict[str, Any] = Field(default_factory=dict)  # the fields the graphic's manifest names


class GraphicCuedData(_Data):
    graphic: str
    visible: bool
    data: dict[str, Any] = Field(default_factory=dict)


class GraphicsTakenData(_Data):
    graphics: dict[str, GraphicState]  # program's whole graphics state after the take


class GraphicsClearedData(_Data):
    reason: str  # "panic"


class GraphicsRefreshData(_Data):
    target: str  # a client id, a graphic name, or "all"


class GraphicsClientData(_Data):
    client_id: str  # the page's own id (kept across reloads)
    connection: str  # this socket
    graphic: str
    channel: str
    version: str
    stale: bool  # loaded from older overlay files than the studio serves now
    connected: bool


class GraphicCued(_Event):
    """The director put a graphic (or its new data) on preview."""

    type: Literal["graphic.cued"] = "graphic.cued"
    data: GraphicCuedData


class GraphicsTaken(_Event):
    """Take: preview's graphics state became program's."""

    type: Literal["graphics.taken"] = "graphics.taken"
    data: GraphicsTakenData


class GraphicsCleared(_Event):
    """Panic / all out: every graphic off, on every output."""

    type: Literal["graphics.cleared"] = "graphics.cleared"
    data: GraphicsClearedData


class GraphicsRefresh(_Event):
    """Ask matching graphics pages to reload themselves (after an overlay update)."""

    type: Literal["graphics.refresh"] = "graphics.refresh"
    data: GraphicsRefreshData


class GraphicsClient(_Event):
    """A graphics page connected or went away (the director's registry of outputs)."""

    type: Literal["graphics.client"] = "graphics.client"
    data: GraphicsClientData
