"""Image intake: every image the show uses (a script asset or a director's upload) is checked and
re-encoded here before a model, a graphic or the event log sees it.

The checks, in order, each failing with a ``ValueError`` that starts with ``image:`` and names the
problem: size in bytes (before decoding anything), type sniffed from the content (PNG, JPEG, WebP,
GIF; the file name and the declared media type are not trusted), dimensions read from the header
(before any pixel is decoded), then a full decode. Pillow's own decompression-bomb guard
(``Image.MAX_IMAGE_PIXELS``) runs at open time as a second line; its warning is turned into the
same refusal. The output is a fresh PNG (images with transparency, and PNG/GIF sources, which are
usually graphics) or JPEG (photos), built from the pixels alone: no EXIF (GPS, camera, owner), no
ICC profile, no text chunks. EXIF orientation is applied first, so the picture stands the way the
camera meant. An animated GIF contributes its first frame only.

Dropping the ICC profile can shift colours a little on wide-gamut photos; a studio can convert
to sRGB before upload if that matters.
"""

from __future__ import annotations

import base64
import hashlib
import io
import warnings
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError

MAX_BYTES = 10 * 1024 * 1024
MAX_SIDE = 8000

_SNIFF = (
    (b"\x89PNG\r\n\x1a\n", "PNG"),
    (b"\xff\xd8\xff", "JPEG"),
    (b"GIF87a", "GIF"),
    (b"GIF89a", "GIF"),
)


@dataclass(frozen=True)
class IntakeImage:
    data: bytes  # the re-encoded file
    format: str  # "PNG" | "JPEG"
    width: int
    height: int
    sha256: str  # of ``data``
    source_format: str  # what came in: PNG | JPEG | WEBP | GIF

    @property
    def media_type(self) -> str:
        return "image/png" if self.format == "PNG" else "image/jpeg"

    @property
    def extension(self) -> str:
        return "png" if self.format == "PNG" else "jpg"

    def open(self) -> Image.Image:
        """The clean pixels (RGB or RGBA), decoded again from ``data``."""
        image = Image.open(io.BytesIO(self.data), formats=[self.format])
        image.load()
        return image

    def data_uri(self) -> str:
        return f"data:{self.media_type};base64,{base64.b64encode(self.data).decode('ascii')}"


def sniff_format(head: bytes) -> str | None:
    """PNG | JPEG | GIF | WEBP from the first bytes of a file, or None."""
    for magic, name in _SNIFF:
        if head.startswith(magic):
            return name
    if len(head) >= 12 and head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WEBP"
    return None


def read_limited(path: str | Path, max_bytes: int = MAX_BYTES) -> bytes:
    """A file's bytes, refusing one over ``max_bytes`` without reading it all."""
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise ValueError(f"image: {_mib(size)} is over the {_mib(max_bytes)} limit")
        with path.open("rb") as f:
            data = f.read(max_bytes + 1)
    except OSError as exc:
        raise ValueError(f"image: cannot read {path}: {exc.strerror or exc}") from None
    if len(data) > max_bytes:  # grew while we looked
        raise ValueError(f"image: over the {_mib(max_bytes)} limit")
    return data


def intake_image(source: bytes | str | Path, max_bytes: int = MAX_BYTES, max_side: int = MAX_SIDE) -> IntakeImage:
    """Check an image (bytes or a file path) and re-encode it clean; ``ValueError`` says why not."""
    data = source if isinstance(source, (bytes, bytearray)) else read_limited(source, max_bytes)
    if not data:
        raise ValueError("image: the file is empty")
    if len(data) > max_bytes:
        raise ValueError(f"image: {_mib(len(data))} is over the {_mib(max_bytes)} limit")
    kind = sniff_format(bytes(data[:16]))
    if kind is None:
        raise ValueError("image: not a PNG/JPEG/WebP/GIF file")
    with warnings.catch_warnings():
        # Pillow warns between MAX_IMAGE_PIXELS and twice that, and refuses above: both refuse here.
        # (catch_warnings swaps a process-wide filter for the moment of the open; nothing else in
        # the studio relies on warning filters at run time.)
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image = Image.open(io.BytesIO(data), formats=[kind])
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise ValueError(
                f"image: the {kind} header claims more than {Image.MAX_IMAGE_PIXELS:,} pixels (a decompression bomb?)"
            ) from None
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
            raise ValueError(f"image: not a readable {kind} file ({_short(exc)})") from None
    with image:
        width, height = image.size
        if width < 1 or height < 1:
            raise ValueError(f"image: {width}×{height} has no pixels")
        if width > max_side or height > max_side:
            raise ValueError(f"image: {width}×{height} is larger than {max_side}×{max_side}")
        try:
            image.seek(0)  # an animation's first frame only
            image.load()
            upright = ImageOps.exif_transpose(image)
        except (OSError, SyntaxError, ValueError, EOFError) as exc:
            raise ValueError(f"image: the {kind} file is damaged or truncated ({_short(exc)})") from None
        clean, out_format = _clean_pixels(upright, kind)
    buffer = io.BytesIO()
    if out_format == "PNG":
        clean.save(buffer, "PNG", optimize=False, compress_level=6)
    else:
        clean.save(buffer, "JPEG", quality=90, optimize=True)
    encoded = buffer.getvalue()
    return IntakeImage(encoded, out_format, clean.width, clean.height, hashlib.sha256(encoded).hexdigest(), kind)


def _clean_pixels(image: Image.Image, source_format: str) -> tuple[Image.Image, str]:
    """Plain RGB(A) pixels in a brand-new image (nothing of the source's metadata travels)."""
    has_alpha = image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info)
    mode = "RGBA" if has_alpha else "RGB"
    pixels = image.convert(mode)
    clean = Image.frombytes(mode, pixels.size, pixels.tobytes())
    out_format = "PNG" if has_alpha or source_format in ("PNG", "GIF") else "JPEG"
    return clean, out_format


def preview_data_uri(image: Image.Image, max_side: int = 640, max_bytes: int = 200_000) -> str:
    """A small copy for graphics and the event log: a JPEG (or PNG with transparency) data URI of at
    most ``max_bytes``, shrinking further until it fits."""
    has_alpha = image.mode == "RGBA"
    side = max_side
    while True:
        copy = image.copy()
        copy.thumbnail((side, side), Image.Resampling.LANCZOS)
        buffer = io.BytesIO()
        if has_alpha:
            copy.save(buffer, "PNG", optimize=True)
            media = "image/png"
        else:
            copy.convert("RGB").save(buffer, "JPEG", quality=80, optimize=True)
            media = "image/jpeg"
        # base64 grows by a third: the limit is on the URI, which is what travels
        uri = f"data:{media};base64,{base64.b64encode(buffer.getvalue()).decode('ascii')}"
        if len(uri) <= max_bytes or side <= 64:
            return uri
        side = int(side * 0.75)


def _mib(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MiB"


def _short(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text if len(text) <= 120 else text[:120] + "…"
