"""Reading a ``.safetensors`` file's header without loading its tensors.

The format is an 8-byte little-endian header length, a JSON header (name -> dtype, shape, byte
offsets) and raw bytes. Reading only the header is how intake learns what an adapter holds
without executing anything from it: unlike a pickled ``.bin``, nothing here can run code.
"""

from __future__ import annotations

import json
import math
import struct
from dataclasses import dataclass
from pathlib import Path

MAX_HEADER_BYTES = 16 << 20
DTYPE_BYTES = {
    "F64": 8,
    "F32": 4,
    "F16": 2,
    "BF16": 2,
    "I64": 8,
    "I32": 4,
    "I16": 2,
    "I8": 1,
    "U8": 1,
    "BOOL": 1,
    "F8_E4M3": 1,
    "F8_E5M2": 1,
    "U16": 2,
    "U32": 4,
    "U64": 8,
}


@dataclass(frozen=True)
class TensorInfo:
    dtype: str
    shape: tuple[int, ...]


class HeaderError(ValueError):
    pass


def read_header(path: Path) -> dict[str, TensorInfo]:
    """Tensor name -> dtype and shape; :class:`HeaderError` if the file is not well-formed."""
    size = path.stat().st_size
    with open(path, "rb") as f:
        raw = f.read(8)
        if len(raw) < 8:
            raise HeaderError("shorter than the 8-byte header length")
        (length,) = struct.unpack("<Q", raw)
        if length > MAX_HEADER_BYTES or 8 + length > size:
            raise HeaderError(f"header length {length} is impossible for a {size}-byte file")
        try:
            header = json.loads(f.read(length))
        except (UnicodeDecodeError, ValueError) as error:
            raise HeaderError(f"header is not JSON ({error})") from None
    if not isinstance(header, dict):
        raise HeaderError("header is not a JSON object")
    data_bytes = size - 8 - length
    tensors: dict[str, TensorInfo] = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        if not isinstance(entry, dict) or entry.get("dtype") not in DTYPE_BYTES:
            raise HeaderError(f"tensor {name!r}: missing or unknown dtype")
        shape, offsets = entry.get("shape"), entry.get("data_offsets")
        if not (isinstance(shape, list) and all(isinstance(d, int) and d >= 0 for d in shape)):
            raise HeaderError(f"tensor {name!r}: bad shape {shape!r}")
        if not (isinstance(offsets, list) and len(offsets) == 2 and all(isinstance(o, int) for o in offsets)):
            raise HeaderError(f"tensor {name!r}: bad data_offsets {offsets!r}")
        begin, end = offsets
        if not 0 <= begin <= end <= data_bytes or end - begin != math.prod(shape) * DTYPE_BYTES[entry["dtype"]]:
            raise HeaderError(f"tensor {name!r}: data_offsets {offsets} do not fit its shape or the file")
        tensors[name] = TensorInfo(entry["dtype"], tuple(shape))
    return tensors
