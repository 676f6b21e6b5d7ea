"""Last.fm and ListenBrainz calls reach /metrics apart from Spotify's (never in its budget)."""

from __future__ import annotations

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
