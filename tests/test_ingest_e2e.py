"""End to end over real sockets: the web app and its poller in one process on uvicorn, the
real `liblistenbrainz` client (requests, in a thread) pushing to it, an SSE client reading
what a browser would. A pushed playing item reaches an open stream within 1 s."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import liblistenbrainz
import pytest
from liblistenbrainz.errors import InvalidAuthTokenException, ListenBrainzAPIException

from nowplaying.cli import build_parser
from nowplaying.push_cli import push_main
from poller.service import Poller
from shared.config import Settings
from shared.spotify import make_http_client
from shared.store import Store
from tests.conftest import serve
from tests.ingestutil import TOKEN, USER, ingest_settings
from tests.webutil import SSEReader, next_event
from web.app import WebRuntime, build_app
from web.http_limits import uvicorn_options


@pytest.fixture
async def web(fake_store: Store) -> AsyncIterator[str]:
    settings = ingest_settings(fake_store, poll_interval=1.0, poll_mode="always")
    http = make_http_client(0.8)
    poller = Poller(settings, fake_store, http)
    runtime = WebRuntime(settings, fake_store, services=[poller])
    try:
        async with serve(build_app(runtime)) as url:
            yield url
    finally:
        await http.aclose()


def client(url: str, token: str | None = TOKEN) -> liblistenbrainz.ListenBrainz:
    lb = liblistenbrainz.ListenBrainz(api_base_url=url)  # it joins "/1/..." to this
    if token is not None:
        lb.set_auth_token(token)  # checks the token with GET /1/validate-token
    return lb


def playing(data: dict[str, Any], name: str) -> bool:
    song = data["song"]
    return bool(song and song["provider"] == "push" and song["isPlaying"] and song["name"] == name)


async def test_liblistenbrainz_against_a_running_instance_reaches_an_open_stream(web: str) -> None:
    lb = await asyncio.to_thread(client, web)
    with pytest.raises(InvalidAuthTokenException):
        await asyncio.to_thread(client, web, "not-the-token-at-all-000000")
    async with httpx.AsyncClient() as http, http.stream("GET", f"{web}/api/stream") as r:
        reader = SSEReader(r)
        await reader.event()  # the current document, whatever it is
        listen = liblistenbrainz.Listen(
            track_name="Windowlicker",
            artist_name="Aphex Twin",
            release_name="Windowlicker",
            additional_info={"duration_ms": 366000, "submission_client": "liblistenbrainz"},
        )
        sent = time.monotonic()
        answer = await asyncio.to_thread(lb.submit_playing_now, listen)
        assert answer == {"status": "ok"}
        event = await next_event(reader, lambda d: playing(d, "Windowlicker"), 1.0)
        assert time.monotonic() - sent < 1.0
        song = event["data"]["song"]
        assert song["artists"] == ["Aphex Twin"] and song["durationMs"] == 366000
        assert song["progressMs"] is not None and event["data"]["stale"] is False

        now = await asyncio.to_thread(lb.get_playing_now, USER)
        assert now is not None and now.track_name == "Windowlicker"
        assert now.artist_name == "Aphex Twin"

        # The client's scrobble at half the track: the item keeps playing.
        listen.listened_at = int(time.time()) - 180
        await asyncio.to_thread(lb.submit_single_listen, listen)
        still = await asyncio.to_thread(lb.get_playing_now, USER)
        assert still is not None and still.track_name == "Windowlicker"

        # A refused submission publishes nothing: the stream gets no event for it.
        bad = liblistenbrainz.ListenBrainz(api_base_url=web)
        bad._auth_token = "wrong-token-wrong-token-00"  # as a misconfigured player would
        with pytest.raises(ListenBrainzAPIException) as refused:
            await asyncio.to_thread(bad.submit_playing_now, listen_of("Other"))
        assert refused.value.status_code == 401
        with pytest.raises(TimeoutError):
            await next_event(reader, lambda d: playing(d, "Other"), 1.5)


def listen_of(name: str) -> liblistenbrainz.Listen:
    return liblistenbrainz.Listen(track_name=name, artist_name="Somebody")


async def test_an_import_of_several_listens_shows_the_newest_as_recent(web: str) -> None:
    lb = await asyncio.to_thread(client, web)
    base = int(time.time()) - 3600
    listens = [listen_of(n) for n in ("First", "Third", "Second")]
    for offset, item in zip((0, 600, 300), listens, strict=True):
        item.listened_at = base + offset
    async with httpx.AsyncClient() as http, http.stream("GET", f"{web}/api/stream") as r:
        reader = SSEReader(r)
        await reader.event()
        await asyncio.to_thread(lb.submit_multiple_listens, listens)

        def recent(data: dict[str, Any]) -> bool:
            song = data["song"]
            return bool(song and song["source"] == "recent" and song["name"] == "Third")

        event = await next_event(reader, recent, 1.0)
    assert event["data"]["song"]["provider"] == "push"
    assert event["data"]["song"]["isPlaying"] is False


async def test_past_64_kib_uvicorn_answers_413_from_the_head_alone(fake_store: Store) -> None:
    """The protocol refuses the body from its Content-Length, before a byte of it is read
    (web/routes.py registers 64 KiB for each ingest POST route; others take none)."""
    settings = ingest_settings(fake_store)
    runtime = WebRuntime(settings, fake_store)
    async with serve(build_app(runtime), **uvicorn_options(settings)) as url:
        port = int(url.rsplit(":", 1)[1])

        async def head_only(path: str, length: int) -> bytes:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(
                f"POST {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Token {TOKEN}\r\n"
                f"Content-Length: {length}\r\n\r\n".encode()
            )
            await writer.drain()
            line = await asyncio.wait_for(reader.readline(), 2)
            writer.close()
            return line

        assert b" 413 " in await head_only("/1/submit-listens", 64 * 1024 + 1)
        assert b" 413 " in await head_only("/api/ingest/webscrobbler", 100_000)
        async with httpx.AsyncClient() as http:
            fits = await http.post(
                f"{url}/api/ingest",
                content=b'{"name": "T", "artists": ["A"], "pad": "' + b"x" * 60_000 + b'"}',
                headers={"Authorization": f"Bearer {TOKEN}"},
            )
        assert fits.status_code == 200
    await runtime.http.aclose()


async def test_the_push_command_makes_the_card_change(web: str, fake_store: Store) -> None:
    settings = ingest_settings(fake_store)
    args = build_parser().parse_args(
        ["push", "Daft Punk", "One More Time", "--url", web, "--duration", "320"]
    )
    async with httpx.AsyncClient() as http, http.stream("GET", f"{web}/api/stream") as r:
        reader = SSEReader(r)
        await reader.event()
        assert await asyncio.to_thread(push_main, settings, args) == 0
        event = await next_event(reader, lambda d: playing(d, "One More Time"), 1.0)
        assert event["data"]["song"]["durationMs"] == 320_000
        pause = build_parser().parse_args(["push", "--pause", "--url", web])
        assert await asyncio.to_thread(push_main, settings, pause) == 0
        await next_event(reader, lambda d: d["song"] and not d["song"]["isPlaying"], 1.0)
    unset = ingest_settings(fake_store, ingest_token=None)
    assert push_main(unset, args) == 2


@pytest.mark.parametrize("duration", ["inf", "nan", "-5", "0"])
def test_nowplaying_push_refuses_a_duration_that_is_no_length_with_exit_2(
    duration: str, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = Settings(ingest_token=TOKEN)
    args = build_parser().parse_args(["push", "A", "T", "--duration", duration])
    assert push_main(settings, args) == 2  # no traceback, nothing sent
    assert "--duration" in capsys.readouterr().out
