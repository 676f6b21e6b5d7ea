"""The art fetcher connects to the address it checked (no DNS rebinding window between
the check and the connection), keeps the URL's name for Host, SNI and the certificate,
accepts only the Archive's real hosts, and follows redirects only to image paths."""

from __future__ import annotations

import asyncio
import ssl
import subprocess
import typing
from collections.abc import AsyncIterator
from pathlib import Path

import httpcore
import httpx
import pytest

from shared.config import Settings
from web.art import FAILURES_KEPT, ArtCache, PinnedBackend, PinnedTransport, pinned_client
from web.art_policy import IMAGE_HOSTS, REDIRECT_TARGETS, ArtPolicy

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 100
MBID = "f1418001-7f1e-46af-bfdb-95faeded8841"


class Resolver:
    """A local fake DNS: answers from a list, one answer per lookup (the last repeats)."""

    def __init__(self, *answers: list[str]) -> None:
        self.answers = list(answers)
        self.asked: list[str] = []

    async def __call__(self, host: str) -> list[str]:
        self.asked.append(host)
        return self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]


class Recording(httpcore.AsyncNetworkBackend):
    """A network backend that records where it was asked to connect, and connects nowhere."""

    def __init__(self) -> None:
        self.connected: list[tuple[str, int]] = []

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        self.connected.append((host, port))
        return httpcore.AsyncMockStream([])


async def test_the_connection_goes_to_the_checked_address_not_the_name() -> None:
    inner = Recording()
    backend = PinnedBackend(Resolver(["151.101.2.1", "151.101.66.1"]), inner=inner)
    await backend.connect_tcp("i.scdn.co", 443)
    assert inner.connected == [("151.101.2.1", 443)]


@pytest.mark.parametrize(
    "answer", [["127.0.0.1"], ["151.101.2.1", "10.0.0.7"], ["169.254.169.254"], ["::1"], []]
)
async def test_a_name_with_any_non_public_address_is_never_connected(answer: list[str]) -> None:
    inner = Recording()
    backend = PinnedBackend(Resolver(answer), inner=inner)
    with pytest.raises(httpcore.ConnectError):
        await backend.connect_tcp("i.scdn.co", 443)
    assert inner.connected == []


async def test_a_rebinding_answer_after_the_check_reaches_nothing() -> None:
    """The first lookup (the cache's early check) says public, the next says loopback:
    the connection uses a lookup it checked itself, so loopback is never connected."""
    resolver = Resolver(["151.101.2.1"], ["127.0.0.1"])
    inner = Recording()
    backend = PinnedBackend(resolver, inner=inner)
    art = ArtCache(
        httpx.AsyncClient(transport=PinnedTransport(backend)), resolver=resolver, timeout_s=2
    )
    assert await art.data_uri("https://i.scdn.co/image/ab67616d0000b273") is None
    assert resolver.asked == ["i.scdn.co", "i.scdn.co"] and inner.connected == []


async def test_a_configured_provider_origin_is_connected_by_name_unchecked() -> None:
    inner = Recording()
    resolver = Resolver(["127.0.0.1"])
    backend = PinnedBackend(resolver, [("127.0.0.1", 9001), ("Sim.Local", 9002)], inner=inner)
    await backend.connect_tcp("127.0.0.1", 9001)
    await backend.connect_tcp("sim.local", 9002)
    assert inner.connected == [("127.0.0.1", 9001), ("sim.local", 9002)] and resolver.asked == []


def test_the_runtime_client_exempts_exactly_the_configured_provider_origins() -> None:
    policy = ArtPolicy.from_settings(Settings(api_url="http://127.0.0.1:9001/v1"))
    client = pinned_client(policy)
    backend = client._transport._pool._network_backend  # type: ignore[attr-defined]
    assert isinstance(backend, PinnedBackend)
    assert ("127.0.0.1", 9001) in backend.exempt and ("127.0.0.1", 9002) not in backend.exempt


# -- over real sockets: a local TLS server that only the pinned address reaches ---------


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    directory = tmp_path_factory.mktemp("tls")
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2"),
            *("-keyout", str(key), "-out", str(cert), "-subj", "/CN=art.example"),
            *("-addext", "subjectAltName=DNS:art.example"),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


class ArtServer:
    """HTTPS on loopback, answering every request with a PNG; records SNI and Host."""

    def __init__(self) -> None:
        self.sni: list[str | None] = []
        self.hosts: list[str] = []

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        for line in head.decode().split("\r\n"):
            if line.lower().startswith("host:"):
                self.hosts.append(line.split(":", 1)[1].strip())
        writer.write(
            b"HTTP/1.1 200 OK\r\ncontent-type: image/png\r\n"
            + f"content-length: {len(PNG)}\r\nconnection: close\r\n\r\n".encode()
            + PNG
        )
        await writer.drain()
        writer.close()


@pytest.fixture
async def art_server(certificate: tuple[Path, Path]) -> AsyncIterator[tuple[ArtServer, int]]:
    served = ArtServer()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*map(str, certificate))

    def sni(sock: ssl.SSLObject, name: str | None, ctx: ssl.SSLContext) -> None:
        served.sni.append(name)

    context.sni_callback = sni  # type: ignore[assignment]
    server = await asyncio.start_server(served.handle, "127.0.0.1", 0, ssl=context)
    port = server.sockets[0].getsockname()[1]
    async with server:
        yield served, port


async def test_over_tls_the_name_stays_for_host_sni_and_the_certificate(
    art_server: tuple[ArtServer, int], certificate: tuple[Path, Path]
) -> None:
    served, port = art_server
    trusted = ssl.create_default_context(cafile=str(certificate[0]))
    # art.example does not resolve anywhere: only the pinned address can reach the server.
    backend = PinnedBackend(Resolver(["127.0.0.1"]), is_public=lambda a: a == "127.0.0.1")
    async with httpx.AsyncClient(transport=PinnedTransport(backend, trusted)) as client:
        r = await client.get(f"https://art.example:{port}/image/ab12")
    assert r.status_code == 200 and r.content == PNG
    assert served.sni == ["art.example"] and served.hosts == [f"art.example:{port}"]


async def test_over_tls_a_certificate_for_another_name_is_refused(
    art_server: tuple[ArtServer, int], certificate: tuple[Path, Path]
) -> None:
    _, port = art_server
    trusted = ssl.create_default_context(cafile=str(certificate[0]))
    backend = PinnedBackend(Resolver(["127.0.0.1"]), is_public=lambda a: a == "127.0.0.1")
    async with httpx.AsyncClient(transport=PinnedTransport(backend, trusted)) as client:
        with pytest.raises(httpx.ConnectError):
            await client.get(f"https://other.example:{port}/image/ab12")


# -- host patterns and redirect targets ------------------------------------------------


@pytest.mark.parametrize(
    "host",
    ["evil.archive.org", "web.archive.org", "s3.us.archive.org", "ia800.eu.archive.org"],
)
def test_only_the_archives_art_hosts_are_allowed(host: str) -> None:
    assert not ArtPolicy().allows(f"https://{host}/x.jpg")


@pytest.mark.parametrize("host", ["archive.org", "ia800505.us.archive.org", "coverartarchive.org"])
def test_the_archives_real_hosts_are_allowed(host: str) -> None:
    assert ArtPolicy().allows(f"https://{host}/x.jpg")


def test_every_redirect_target_host_is_an_allowed_image_host() -> None:
    examples = {
        r"coverartarchive\.org": "coverartarchive.org",
        r"archive\.org": "archive.org",
        r"ia[0-9]+\.us\.archive\.org": "ia800505.us.archive.org",
        r"i\.scdn\.co": "i.scdn.co",
        r"image-cdn-[a-z0-9-]+\.spotifycdn\.com": "image-cdn-ak.spotifycdn.com",
        r"mosaic\.scdn\.co": "mosaic.scdn.co",
        r"lastfm\.freetls\.fastly\.net": "lastfm.freetls.fastly.net",
    }
    assert set(examples) == {host for host, _ in REDIRECT_TARGETS}
    for host in examples.values():
        assert IMAGE_HOSTS.fullmatch(host), host


@pytest.mark.parametrize(
    "url",
    [
        f"https://coverartarchive.org/release/{MBID}/front-250",
        f"https://archive.org/download/mbid-{MBID}/mbid-{MBID}-32916450708_thumb250.jpg",
        f"https://ia800505.us.archive.org/7/items/mbid-{MBID}/mbid-{MBID}-32916450708.jpg",
        "https://i.scdn.co/image/ab67616d0000b273aa",
        "https://lastfm.freetls.fastly.net/i/u/300x300/2a96cbd8b46e442fc41c2b86b821562f.png",
    ],
)
def test_redirects_may_lead_to_image_paths(url: str) -> None:
    assert ArtPolicy().allows_redirect(url)


@pytest.mark.parametrize(
    "url",
    [
        "https://archive.org/details/anything",
        "https://archive.org/download/some-upload/payload.jpg",
        f"https://ia800505.us.archive.org/7/items/not-mbid/{MBID}.jpg",
        "https://coverartarchive.org/",
        "https://i.scdn.co/anything-else",
        "https://lastfm.freetls.fastly.net/i/u/300x300/x.svg",
        "http://127.0.0.1:6379/",
    ],
)
def test_redirects_to_anything_else_are_refused(url: str) -> None:
    assert not ArtPolicy().allows_redirect(url)


async def test_a_redirect_to_a_page_of_an_allowed_host_is_not_followed() -> None:
    start = f"https://coverartarchive.org/release/{MBID}/front"
    asked: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        asked.append(str(request.url))
        if str(request.url) == start:
            return httpx.Response(302, headers={"location": "https://archive.org/details/x"})
        return httpx.Response(200, content=PNG, headers={"content-type": "image/png"})

    async def public(host: str) -> list[str]:
        return ["151.101.2.1"]

    http = httpx.AsyncClient(transport=httpx.MockTransport(answer))
    assert await ArtCache(http, resolver=public, timeout_s=2).data_uri(start) is None
    assert asked == [start]


def test_a_redirect_to_a_configured_provider_is_allowed() -> None:
    policy = ArtPolicy.from_settings(Settings(api_url="http://127.0.0.1:9001/v1"))
    assert policy.allows_redirect("http://127.0.0.1:9001/art/x-300.png")


async def test_the_memory_of_failed_urls_stays_bounded() -> None:
    """Every distinct URL that fails is remembered for a minute; a document source that
    names a new image URL on every change must not grow that memory without end."""

    def missing(request: httpx.Request) -> httpx.Response:
        return httpx.Response(404)

    async def public(host: str) -> list[str]:
        return ["151.101.2.1"]

    http = httpx.AsyncClient(transport=httpx.MockTransport(missing))
    art = ArtCache(http, resolver=public, timeout_s=2)
    for i in range(3 * FAILURES_KEPT):
        assert await art.data_uri(f"https://i.scdn.co/image/{i:040x}") is None
    assert len(art.failures) <= FAILURES_KEPT
    newest = f"https://i.scdn.co/image/{3 * FAILURES_KEPT - 1:040x}"
    assert newest in art.failures  # the newest failures are the ones kept
