"""Sources in the web app: their calls in /metrics apart from Spotify's, their states in /readyz."""

from __future__ import annotations

import time

from shared.config import Settings
from shared.store import Store
from tests.webutil import web_client
from web.app import WebRuntime
from web.metrics import PollerCollector


def samples(stats: dict[str, int]) -> dict[str, list[tuple[dict[str, str], float]]]:
    return {
        family.name: [(s.labels, s.value) for s in family.samples]
        for family in PollerCollector(stats, None).collect()
    }


def test_source_calls_are_counted_by_provider_endpoint_and_status() -> None:
    found = samples({"lastfm:recenttracks:200": 4, "listenbrainz:playing-now:429": 1})
    assert found["nowplaying_source_calls"] == [
        ({"provider": "lastfm", "endpoint": "recenttracks", "status": "200"}, 4.0),
        ({"provider": "listenbrainz", "endpoint": "playing-now", "status": "429"}, 1.0),
    ]


def test_source_calls_are_not_spotify_calls() -> None:
    assert samples({"lastfm:recenttracks:200": 4})["nowplaying_spotify_calls"] == []


async def test_readyz_shows_each_source_state_from_the_heartbeat(fake_store: Store) -> None:
    sources = {"lastfm": {"state": "config", "error": "Last.fm user 'x' hides (error 17)"}}
    await fake_store.write_heartbeat(
        {"at": int(time.time() * 1000), "state": "ok", "sources": sources}
    )
    runtime = WebRuntime(Settings(redis_prefix=fake_store.keys.prefix), fake_store)
    async with web_client(runtime, base_url="http://t") as client:
        body = (await client.get("/readyz")).json()
    assert body["sources"] == sources
