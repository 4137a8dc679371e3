"""Pictures the director uploads for image stages (image to poem).

- ``POST /api/images`` (director token): the body is the image file itself (any Content-Type; the
  type is sniffed from the content, as stages/image_intake.py does for every image). It is checked
  (type, bytes, dimensions, decompression bombs) and re-encoded without metadata, then kept in the
  show's data folder as ``images/<id>.png|jpg``, where ``id`` is the first 16 hex digits of its
  SHA-256 (the same picture uploaded twice is one file). Answers 201 ``{"image": "upload:<id>",
  "width", "height", "format", "bytes"}``; a stage names it as ``image: upload:<id>``. A refusal is
  400 with the intake's message (``{"error": "image: 12000×9000 is larger than 8000×8000"}``), 413
  over the size limit (the body is not read past it); a follower process answers 409 naming the
  controller (uploads live in the controller's data dir).
- ``GET /api/images/{id}`` (director or graphics token): the re-encoded file, for the panel's
  preview and for graphics that want the full picture rather than the event's small copy.
"""

from __future__ import annotations

import asyncio
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse

from stages.image_intake import MAX_BYTES, intake_image

from .auth import require_role
from .follower import controller_only

if TYPE_CHECKING:
    from .runtime import Studio

_ID = re.compile(r"^[0-9a-f]{16}$")


def images_dir(studio: "Studio") -> Path:
    return studio.data_dir / "images"  # the controller's stages read them from there


def _require(request: Request, roles: tuple[str, ...]) -> JSONResponse | None:
    return require_role(request, request.app.state.studio.tokens, roles)


async def _read_limited(request: Request, limit: int) -> bytes | None:
    """The body, or None as soon as it passes ``limit`` bytes (the rest is never read)."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        return None
    parts, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        parts.append(chunk)
    return b"".join(parts)


async def upload_image(request: Request) -> JSONResponse:
    if denied := _require(request, ("director",)) or await controller_only(request.app.state.studio):
        return denied  # stages read uploads from the controller's data dir
    body = await _read_limited(request, MAX_BYTES)
    if body is None:
        return JSONResponse({"error": f"image: over the {MAX_BYTES // (1024 * 1024)} MiB limit"}, 413)
    try:
        image = await asyncio.to_thread(intake_image, body)
    except ValueError as exc:
        return JSONResponse({"error": str(exc)}, 400)
    image_id = image.sha256[:16]
    folder = images_dir(request.app.state.studio)
    target = folder / f"{image_id}.{image.extension}"
    if not target.exists():
        await asyncio.to_thread(_write_atomically, target, image.data)
    return JSONResponse(
        {"image": f"upload:{image_id}", "width": image.width, "height": image.height, "format": image.format, "bytes": len(image.data)},
        201,
    )


async def get_image(request: Request):
    if denied := _require(request, ("director", "graphics")):
        return denied
    image_id = request.path_params["image_id"]
    if not _ID.match(image_id):
        return JSONResponse({"error": "no such image"}, 404)
    found = sorted(images_dir(request.app.state.studio).glob(f"{image_id}.*"))
    if not found:
        return JSONResponse({"error": "no such image"}, 404)
    media = "image/png" if found[0].suffix == ".png" else "image/jpeg"
    return FileResponse(found[0], media_type=media, headers={"Cache-Control": "private, max-age=3600"})


def _write_atomically(target: Path, data: bytes) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_suffix(target.suffix + f".{os.getpid()}.tmp")
    temporary.write_bytes(data)
    os.replace(temporary, target)
