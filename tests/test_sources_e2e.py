"""End to end over real sockets: the simulated providers on uvicorn, the web app with its
poller on uvicorn, an SSE client reading what a browser would."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from nowplaying.simulator.combined import Simulators, build_simulators
from nowplaying.simulator.spotify import new_state
from poller.service import Poller
from shared.spotify import make_http_client
from shared.store import Store
from tests.conftest import serve, sim_settings
from tests.webutil import SSEReader, next_event
from web.app import WebRuntime, build_app


@pytest.fixture
async def providers() -> AsyncIterator[tuple[Simulators, str]]:
    sims = build_simulators(new_state("http://127.0.0.1"))
    async with serve(sims.app) as base:
        yield sims, base


@pytest.fixture
async def web(
    providers: tuple[Simulators, str], fake_store: Store, request: pytest.FixtureRequest
) -> AsyncIterator[str]:
    _, base = providers
    spotify: dict[str, Any] = {}
    if getattr(request, "param", None) != "with-spotify":
        spotify = {"client_id": None, "client_secret": None, "refresh_token": None}
    settings = sim_settings(
        base,
        redis_prefix=fake_store.keys.prefix,
        poll_interval=1.0,
        lastfm_api_key="sim-lastfm-key",
        lastfm_user="sim-user",
        lastfm_api_url=f"{base}/lastfm/2.0/",
        **spotify,
    )
    http = make_http_client(0.8)
    poller = Poller(settings, fake_store, http)
    runtime = WebRuntime(settings, fake_store, services=[poller])
    try:
        async with serve(build_app(runtime)) as url:
            yield url
    finally:
        await http.aclose()


async def test_a_track_change_through_lastfm_reaches_an_open_stream(
    providers: tuple[Simulators, str], web: str
) -> None:
    sims, _ = providers
    async with httpx.AsyncClient() as client, client.stream("GET", f"{web}/api/stream") as r:
        reader = SSEReader(r)
        first = await next_event(reader, lambda d: d["song"] is not None, 5)
        assert first["data"]["song"]["provider"] == "lastfm"
        assert first["data"]["song"]["progressMs"] is None and first["data"]["demo"] is False
        player = sims.spotify.player
        player.skip(sims.spotify.clock())
        changed = await next_event(
            reader, lambda d: d["song"]["name"] == "Midnight Circuits", 1.0 + 1.5
        )
        assert changed["data"]["stale"] is False


@pytest.mark.parametrize("web", ["with-spotify"], indirect=True)
async def test_spotify_quota_pause_fails_over_to_lastfm_on_the_stream(
    providers: tuple[Simulators, str], web: str
) -> None:
    _, base = providers
    async with httpx.AsyncClient() as client, client.stream("GET", f"{web}/api/stream") as r:
        reader = SSEReader(r)
        first = await next_event(reader, lambda d: d["song"] is not None, 5)
        assert first["data"]["song"]["provider"] == "spotify"
        fault = {"endpoint": "currently-playing", "status": 429, "retryAfter": 3600, "times": 1}
        await client.post(f"{base}/_sim/faults", json=fault)
        moved = await next_event(
            reader, lambda d: d["song"] and d["song"]["provider"] == "lastfm", 1.0 + 1.5
        )
        assert moved["data"]["stale"] is False and moved["data"]["pausedUntil"] is None


async def test_the_simulator_serves_all_three_providers_on_one_socket(
    providers: tuple[Simulators, str],
) -> None:
    _, base = providers
    async with httpx.AsyncClient() as client:
        params = {"method": "user.getrecenttracks", "user": "sim-user", "format": "json"}
        lastfm = await client.get(
            f"{base}/lastfm/2.0/", params=params | {"api_key": "sim-lastfm-key"}
        )
        lb = await client.get(f"{base}/listenbrainz/1/user/sim-user/playing-now")
        spotify = await client.get(f"{base}/v1/me/player/currently-playing")
    assert lastfm.status_code == 200 and lastfm.json()["recenttracks"]["track"]
    assert lb.status_code == 200 and "x-ratelimit-remaining" in lb.headers
    assert spotify.status_code == 401  # the Spotify simulator, wanting its token
