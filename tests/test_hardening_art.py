"""The art fetcher streams up to its cap, and fetches only from
the image hosts and the configured providers, each redirect hop checked."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from shared.config import Settings
from web.art import MAX_BYTES, ArtCache
from web.art_policy import ArtPolicy, is_public_address

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 100
CDN = "https://i.scdn.co/image/ab67616d0000b273"


async def public(host: str) -> list[str]:
    return ["151.101.2.1"]


async def private(host: str) -> list[str]:
    return ["151.101.2.1", "10.0.0.7"]


class Recorder:
    """An httpx transport that answers from a table and records every request."""

    def __init__(self, answers: dict[str, httpx.Response]) -> None:
        self.answers = answers
        self.urls: list[str] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.urls.append(str(request.url))
        kept = self.answers.get(str(request.url), httpx.Response(404))
        # A fresh, unread response each time, the way a server would answer.
        return httpx.Response(
            kept.status_code, headers=kept.headers, stream=httpx.ByteStream(kept.content)
        )


def png(**headers: str) -> httpx.Response:
    return httpx.Response(200, content=PNG, headers={"content-type": "image/png", **headers})


def cache(recorder: Recorder, policy: ArtPolicy | None = None, resolver=public) -> ArtCache:  # type: ignore[no-untyped-def]
    http = httpx.AsyncClient(transport=httpx.MockTransport(recorder))
    return ArtCache(http, policy=policy, resolver=resolver, timeout_s=2)


@pytest.mark.parametrize(
    "url",
    [
        "https://i.scdn.co/image/x",
        "https://mosaic.scdn.co/640/x",
        "https://image-cdn-ak.spotifycdn.com/image/x",
        "https://lastfm.freetls.fastly.net/i/u/300x300/x.png",
        "https://coverartarchive.org/release/x/front",
        "https://ia800.us.archive.org/x.jpg",
    ],
)
def test_the_providers_image_hosts_are_allowed(url: str) -> None:
    assert ArtPolicy().allows(url)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:6379/",
        "http://localhost/admin",
        "http://169.254.169.254/latest/meta-data/",
        "http://i.scdn.co/image/x",
        "https://i.scdn.co:6379/image/x",
        "https://i.scdn.co.evil.example/x",
        "https://evil-i.scdn.co/x",
        "https://user:pw@i.scdn.co/x",
        "https://[::1]/x",
        "file:///etc/passwd",
    ],
)
def test_any_other_host_port_or_scheme_is_refused(url: str) -> None:
    assert not ArtPolicy().allows(url)


def test_the_exact_origin_of_each_configured_provider_is_allowed() -> None:
    policy = ArtPolicy.from_settings(Settings(api_url="http://127.0.0.1:9001/v1"))
    assert policy.allows("http://127.0.0.1:9001/art/x-300.png")
    assert not policy.allows("http://127.0.0.1:9002/art/x-300.png")
    assert not policy.allows("https://127.0.0.1:9001/art/x-300.png")


def test_providers_the_settings_may_gain_are_read_when_present() -> None:
    class Later:
        api_url = "https://api.spotify.com/v1"
        lastfm_api_url = "http://127.0.0.1:9100/2.0/"
        listenbrainz_api_url = "http://127.0.0.1:9200"

    policy = ArtPolicy.from_settings(Later())
    assert policy.allows("http://127.0.0.1:9100/x.png")
    assert policy.allows("http://127.0.0.1:9200/x.png")


@pytest.mark.parametrize(
    ("address", "public_"),
    [
        ("151.101.2.1", True),
        ("127.0.0.1", False),
        ("10.1.2.3", False),
        ("192.168.1.1", False),
        ("169.254.169.254", False),
        ("::1", False),
        ("fe80::1", False),
        ("::ffff:127.0.0.1", False),
        ("fd00::1", False),
        ("0.0.0.0", False),
        ("2a00:1450:4001::1", True),
    ],
)
def test_only_global_addresses_count_as_public(address: str, public_: bool) -> None:
    assert is_public_address(address) is public_


async def test_a_refused_url_is_never_requested() -> None:
    recorder = Recorder({})
    art = cache(recorder)
    assert await art.data_uri("http://127.0.0.1:6379/") is None
    assert recorder.urls == []


async def test_an_image_host_that_resolves_to_a_private_address_is_not_requested() -> None:
    recorder = Recorder({CDN: png()})
    art = cache(recorder, resolver=private)
    assert await art.data_uri(CDN) is None
    assert recorder.urls == []


async def test_an_allowed_image_is_fetched_as_a_data_uri() -> None:
    recorder = Recorder({CDN: png()})
    uri = await cache(recorder).data_uri(CDN)
    assert uri is not None and uri.startswith("data:image/png;base64,")


async def test_a_redirect_outside_the_list_is_not_followed() -> None:
    inside = "https://coverartarchive.org/release/x/front"
    recorder = Recorder(
        {inside: httpx.Response(302, headers={"location": "http://127.0.0.1:8080/admin"})}
    )
    assert await cache(recorder).data_uri(inside) is None
    assert recorder.urls == [inside]


async def test_a_redirect_inside_the_list_is_followed() -> None:
    mbid = "f1418001-7f1e-46af-bfdb-95faeded8841"
    inside = f"https://coverartarchive.org/release/{mbid}/front-250"
    download = f"https://archive.org/download/mbid-{mbid}/mbid-{mbid}-32916450708_thumb250.jpg"
    target = (
        f"https://ia800505.us.archive.org/7/items/mbid-{mbid}/mbid-{mbid}-32916450708_thumb250.jpg"
    )
    recorder = Recorder(
        {
            inside: httpx.Response(307, headers={"location": download}),
            download: httpx.Response(302, headers={"location": target}),
            target: png(),
        }
    )
    assert await cache(recorder).data_uri(inside) is not None
    assert recorder.urls == [inside, download, target]


async def test_redirect_loops_stop() -> None:
    url = "https://coverartarchive.org/a"
    recorder = Recorder({url: httpx.Response(302, headers={"location": url})})
    assert await cache(recorder).data_uri(url) is None
    assert len(recorder.urls) <= 4


async def test_a_declared_length_over_the_cap_is_refused_unread() -> None:
    recorder = Recorder({CDN: png(**{"content-length": str(3 * 1024**3)})})
    assert await cache(recorder).data_uri(CDN) is None


async def test_the_body_is_read_only_up_to_the_cap() -> None:
    served = 0

    async def endless() -> AsyncIterator[bytes]:
        nonlocal served
        for _ in range(100_000):  # 6.4 GB if it were all read
            served += 65536
            yield b"\x00" * 65536

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"content-type": "image/png"}, content=endless())

    http = httpx.AsyncClient(transport=httpx.MockTransport(answer))
    art = ArtCache(http, resolver=public, timeout_s=2)
    assert await art.data_uri(CDN) is None
    assert served <= MAX_BYTES + 2 * 65536


async def test_a_compressed_body_is_refused() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        headers = {"content-type": "image/png", "content-encoding": "gzip"}
        return httpx.Response(200, headers=headers, stream=httpx.ByteStream(b"\x1f\x8b" * 10))

    http = httpx.AsyncClient(transport=httpx.MockTransport(answer))
    assert await ArtCache(http, resolver=public, timeout_s=2).data_uri(CDN) is None
