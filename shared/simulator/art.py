"""Album art for the simulator: small gradient PNGs made with the standard library."""

from __future__ import annotations

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
