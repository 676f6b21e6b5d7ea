"""Album art fetched server-side for the SVG card, as data URIs, with a small LRU cache.

Bounded on every side: a short timeout, a size cap, image types only, a capped cache,
and a short memory of failures so a hanging image host does not slow every request.
"""

from __future__ import annotations

import asyncio
import base64
import time
from collections import OrderedDict

import httpx

MAX_BYTES = 512 * 1024
ALLOWED = ("image/jpeg", "image/png", "image/webp", "image/gif")


class ArtCache:
    def __init__(self, http: httpx.AsyncClient, size: int = 32, timeout_s: float = 0.7) -> None:
        self.http = http
        self.size = size
        self.timeout_s = timeout_s
        self.entries: OrderedDict[str, str] = OrderedDict()
        self.failures: dict[str, float] = {}
        self.pending: dict[str, asyncio.Future[str | None]] = {}

    async def data_uri(self, url: str | None) -> str | None:
        """The image at `url` as a data URI, or None (no art, too slow, not an image)."""
        if not url or not url.startswith(("https://", "http://")):
            return None
        if url in self.entries:
            self.entries.move_to_end(url)
            return self.entries[url]
        if self.failures.get(url, 0) > time.monotonic():
            return None
        if url not in self.pending:
            self.pending[url] = asyncio.ensure_future(self._fetch(url))
        try:
            return await asyncio.wait_for(asyncio.shield(self.pending[url]), self.timeout_s)
        except TimeoutError:
            return None

    async def _fetch(self, url: str) -> str | None:
        try:
            async with asyncio.timeout(self.timeout_s * 4):
                response = await self.http.get(url)
            kind = response.headers.get("content-type", "").split(";")[0].strip().lower()
            if (
                response.status_code != 200
                or kind not in ALLOWED
                or len(response.content) > MAX_BYTES
            ):
                raise ValueError(f"unusable art ({response.status_code}, {kind})")
        except (httpx.HTTPError, ValueError, TimeoutError):
            self.failures[url] = time.monotonic() + 60
            return None
        finally:
            self.pending.pop(url, None)
        value = f"data:{kind};base64,{base64.b64encode(response.content).decode()}"
        self.entries[url] = value
        while len(self.entries) > self.size:
            self.entries.popitem(last=False)
        return value
