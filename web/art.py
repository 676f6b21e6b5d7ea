"""Album art fetched server-side for the SVG card, as data URIs, with a small LRU cache.

Bounded on every side: only the hosts `web/art_policy.py` allows (each redirect hop
checked again, image hosts only on public addresses), a short timeout, the body streamed
and dropped as soon as it passes the size cap, image types only, a capped cache, and a
short memory of failures so a hanging image host does not slow every request.
"""

from __future__ import annotations

import asyncio
import base64
import socket
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from urllib.parse import urljoin, urlsplit

import httpx

from web.art_policy import ArtPolicy, is_public_address

MAX_BYTES = 512 * 1024
MAX_REDIRECTS = 3
ALLOWED = ("image/jpeg", "image/png", "image/webp", "image/gif")
Resolver = Callable[[str], Awaitable[list[str]]]
LocalArt = Callable[[str], tuple[bytes, str] | None]


class Refused(ValueError):
    """The URL, a redirect or the answer is not art we may or can use."""


async def resolve(host: str) -> list[str]:
    """Every address `host` resolves to (the check has to hold for all of them)."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, 443, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


class ArtCache:
    def __init__(
        self,
        http: httpx.AsyncClient,
        size: int = 32,
        timeout_s: float = 0.7,
        *,
        policy: ArtPolicy | None = None,
        resolver: Resolver = resolve,
        local: LocalArt | None = None,
    ) -> None:
        self.http = http
        self.size = size
        self.timeout_s = timeout_s
        self.policy = policy or ArtPolicy()
        self.resolver = resolver
        self.local = local  # same-origin paths (the demo's art) answered without HTTP
        self.entries: OrderedDict[str, str] = OrderedDict()
        self.failures: dict[str, float] = {}
        self.pending: dict[str, asyncio.Future[str | None]] = {}

    async def data_uri(self, url: str | None) -> str | None:
        """The image at `url` as a data URI, or None (no art, too slow, not an image)."""
        if url and url.startswith("/") and self.local is not None:
            found = self.local(url)
            return _data_uri(*found) if found else None
        if not url or not self.policy.allows(url):
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
                body, kind = await self.download(url)
        except (httpx.HTTPError, OSError, ValueError, TimeoutError):
            self.failures[url] = time.monotonic() + 60
            return None
        finally:
            self.pending.pop(url, None)
        value = _data_uri(body, kind)
        self.entries[url] = value
        while len(self.entries) > self.size:
            self.entries.popitem(last=False)
        return value

    async def download(self, url: str) -> tuple[bytes, str]:
        """The image's bytes and type, following at most MAX_REDIRECTS allowed hops by
        hand; Refused for anything else. Never holds more than MAX_BYTES of a body."""
        for _ in range(MAX_REDIRECTS + 1):
            await self._check(url)
            headers = {"Accept-Encoding": "identity"}  # no decompression bomb either
            async with self.http.stream(
                "GET", url, headers=headers, follow_redirects=False
            ) as response:
                if response.status_code in (301, 302, 303, 307, 308):
                    location = response.headers.get("location", "")
                    url = urljoin(url, location)
                    continue
                kind = response.headers.get("content-type", "").split(";")[0].strip().lower()
                encoding = response.headers.get("content-encoding", "identity").lower()
                if response.status_code != 200 or kind not in ALLOWED or encoding != "identity":
                    raise Refused(f"unusable art ({response.status_code}, {kind})")
                declared = response.headers.get("content-length", "")
                if declared.isdigit() and int(declared) > MAX_BYTES:
                    raise Refused("art larger than the cap")
                body = bytearray()
                async for chunk in response.aiter_bytes():  # identity: as sent
                    body += chunk
                    if len(body) > MAX_BYTES:
                        raise Refused("art larger than the cap")
                return bytes(body), kind
        raise Refused("too many redirects")

    async def _check(self, url: str) -> None:
        if not self.policy.allows(url):
            raise Refused("art host not allowed")
        if self.policy.is_provider(url):
            return
        addresses = await self.resolver(urlsplit(url).hostname or "")
        if not addresses or not all(is_public_address(a) for a in addresses):
            raise Refused("art host resolves to a non-public address")


def _data_uri(body: bytes, kind: str) -> str:
    return f"data:{kind};base64,{base64.b64encode(body).decode()}"
