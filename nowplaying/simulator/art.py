"""Album art for the simulator: small gradient PNGs made with the standard library."""

from __future__ import annotations

import re
import struct
import zlib
from functools import lru_cache


def _chunk(kind: bytes, data: bytes) -> bytes:
    body = kind + data
    return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))


@lru_cache(maxsize=64)
def gradient_png(color: str, size: int) -> bytes:
    """A `size`-square PNG fading from `color` (hex rgb) at the top to black."""
    r, g, b = (int(color[i : i + 2], 16) for i in (0, 2, 4))
    rows = []
    for y in range(size):
        f = 1 - 0.75 * y / max(1, size - 1)
        rows.append(b"\x00" + bytes((int(r * f), int(g * f), int(b * f))) * size)
    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)
    return b"".join(
        (
            b"\x89PNG\r\n\x1a\n",
            _chunk(b"IHDR", header),
            _chunk(b"IDAT", zlib.compress(b"".join(rows), 9)),
            _chunk(b"IEND", b""),
        )
    )


def catalog_png(name: str, keys: dict[str, str]) -> bytes | None:
    """The PNG for an art file name `<key>-<size>.png` (sizes 34, 64, 174, 300, 640), where `keys`
    maps each catalog key to its colour; None for any other name."""
    match = re.fullmatch(r"(\w{1,64})-(34|64|174|300|640)\.png", name)
    if match is None or match.group(1) not in keys:
        return None
    return gradient_png(keys[match.group(1)], int(match.group(2)))
