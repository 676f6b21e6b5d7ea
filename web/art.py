"""Album art fetched server-side for the SVG card, as data URIs, with a small LRU cache.

Bounded on every side: only the hosts `web/art_policy.py` allows (each redirect hop
checked again, image hosts only on public addresses), a short timeout, the body streamed
and dropped as soon as it passes the size cap, image types only, a capped cache, and a
short memory of failures so a hanging image host does not slow every request.

The address check and the connection use one resolution: the cache's own client connects
through `PinnedBackend`, which resolves the host, checks every address, and connects to
a checked one (TLS still names the host: SNI and the certificate check are the URL's, and
so is the Host header). Resolving once for the check and again for the connection left a
window in which a rebinding DNS answer could point the second at loopback or the LAN.
"""

from __future__ import annotations

import asyncio
import base64
import socket
import ssl
import time
import typing
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable
from urllib.parse import urljoin, urlsplit

import certifi
import httpcore
import httpx

from web.art_policy import ArtPolicy, is_public_address

MAX_BYTES = 512 * 1024
MAX_REDIRECTS = 3
FAILURES_KEPT = 256  # failed URLs remembered (newest kept): memory bounded however many
ALLOWED = ("image/jpeg", "image/png", "image/webp", "image/gif")
Resolver = Callable[[str], Awaitable[list[str]]]
LocalArt = Callable[[str], tuple[bytes, str] | None]


class Refused(ValueError):
    """The URL, a redirect or the answer is not art we may or can use."""


async def resolve(host: str) -> list[str]:
    """Every address `host` resolves to (the check has to hold for all of them)."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, 443, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


class PinnedBackend(httpcore.AsyncNetworkBackend):
    """httpcore's network backend that connects only to addresses it checked itself: the
    host is resolved once, every address must be public (a configured provider's exact
    host and port excepted), and the connection goes to one of those addresses."""

    def __init__(
        self,
        resolver: Resolver = resolve,
        exempt: Iterable[tuple[str, int]] = (),
        *,
        inner: httpcore.AsyncNetworkBackend | None = None,
        is_public: Callable[[str], bool] = is_public_address,
    ) -> None:
        self.resolver = resolver
        self.exempt = frozenset((host.lower(), port) for host, port in exempt)
        self.inner = inner or httpcore.AnyIOBackend()
        self.is_public = is_public

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        addresses = [host]
        if (host.lower(), port) not in self.exempt:
            try:
                addresses = await self.resolver(host)
            except OSError as exc:
                raise httpcore.ConnectError(f"cannot resolve the art host: {exc}") from exc
            if not addresses or not all(self.is_public(a) for a in addresses):
                raise httpcore.ConnectError("the art host resolves to a non-public address")
        failure: Exception | None = None
        for address in dict.fromkeys(addresses):  # in order, each once
            try:
                return await self.inner.connect_tcp(
                    address,
                    port,
                    timeout=timeout,
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
        assert failure is not None
        raise failure

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("art is never fetched over a unix socket")

    async def sleep(self, seconds: float) -> None:
        await self.inner.sleep(seconds)


class PinnedTransport(httpx.AsyncHTTPTransport):
    """httpx's transport over a `PinnedBackend` (certificates checked as by default)."""

    def __init__(self, backend: PinnedBackend, ssl_context: ssl.SSLContext | None = None) -> None:
        super().__init__()
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=ssl_context or ssl.create_default_context(cafile=certifi.where()),
            max_connections=16,
            max_keepalive_connections=8,
            keepalive_expiry=5.0,
            network_backend=backend,
        )


def pinned_client(policy: ArtPolicy, resolver: Resolver = resolve) -> httpx.AsyncClient:
    """The art fetcher's own client: every connection to a checked address."""
    exempt = [(host, port) for _, host, port in policy.providers]
    transport = PinnedTransport(PinnedBackend(resolver, exempt))
    return httpx.AsyncClient(transport=transport, timeout=httpx.Timeout(3.0), trust_env=False)


class ArtCache:
    def __init__(
        self,
        http: httpx.AsyncClient | None = None,
        size: int = 32,
        timeout_s: float = 0.7,
        *,
        policy: ArtPolicy | None = None,
        resolver: Resolver = resolve,
        local: LocalArt | None = None,
    ) -> None:
        self.size = size
        self.timeout_s = timeout_s
        self.policy = policy or ArtPolicy()
        self.resolver = resolver
        self.owns_http = http is None  # None: a pinned client of its own (pinned_client)
        self.http = http if http is not None else pinned_client(self.policy, resolver)
        self.local = local  # same-origin paths (the demo's art) answered without HTTP
        self.entries: OrderedDict[str, str] = OrderedDict()
        self.failures: OrderedDict[str, float] = OrderedDict()  # url: retry after (monotonic)
        self.pending: dict[str, asyncio.Future[str | None]] = {}

    async def aclose(self) -> None:
        if self.owns_http:
            await self.http.aclose()

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
            self.failures.pop(url, None)
            self.failures[url] = time.monotonic() + 60
            while len(self.failures) > FAILURES_KEPT:
                self.failures.popitem(last=False)  # the oldest failure is forgotten first
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
        for hop in range(MAX_REDIRECTS + 1):
            if hop and not self.policy.allows_redirect(url):
                raise Refused("redirect to no image path of an allowed host")
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
