"""What a follower process (``gavel serve --follower``: feeds and votes only) says to a request
only the show's controller can serve: 409, and where the controller is.

The controller writes its address into the show's Redis once it serves (``Studio.announce``);
a follower reads it when it has to send someone there.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.responses import JSONResponse

if TYPE_CHECKING:
    from .runtime import Studio


async def controller_only(studio: "Studio") -> JSONResponse | None:
    """None in the controller process; in a follower, the 409 naming the controller."""
    if not studio.follower:
        return None
    address = await studio.controller_address()
    where = f" at {address}" if address else " (it has not said where it serves yet)"
    error = f"this studio process is a follower (feeds and votes only): send this to the show's controller process{where}"
    return JSONResponse({"error": error, "controller": address}, 409)
