"""Payloads shaped like the providers' documented examples (see the normalizers' docstrings)."""

from __future__ import annotations

from typing import Any

ART = "https://lastfm.freetls.fastly.net/i/u/{size}/7c9c4d1009514b178c82f2201e3a1fce.jpg"
STAR = "https://lastfm.freetls.fastly.net/i/u/300x300/2a96cbd8b46e442fc41c2b86b821562f.png"


def lastfm_images(hash_url: str = ART) -> list[dict[str, str]]:
    sizes = (("small", "34s"), ("medium", "64s"), ("large", "174s"), ("extralarge", "300x300"))
    return [{"size": name, "#text": hash_url.format(size=path)} for name, path in sizes]


def lastfm_track(**overrides: Any) -> dict[str, Any]:
    track: dict[str, Any] = {
        "artist": {"mbid": "63aa26c3-d59b-4da4-84ac-716b54f1ef4d", "#text": "Tame Impala"},
        "album": {"mbid": "0d2cb66c-3a32-4f81-b977-9231c461c34a", "#text": "Lonerism"},
        "image": lastfm_images(),
        "streamable": "0",
        "date": {"uts": "1603188238", "#text": "20 Oct 2020, 10:03"},
        "url": "https://www.last.fm/music/Tame+Impala/_/Feels+Like+We+Only+Go+Backwards",
        "name": "Feels Like We Only Go Backwards",
        "mbid": "1587517a-9b2b-385a-b044-673fddf88004",
    }
    track.update(overrides)
    return track


def lastfm_now_playing(**overrides: Any) -> dict[str, Any]:
    track = lastfm_track(name="Apocalypse Dreams", **overrides)
    track.pop("date")
    track["@attr"] = {"nowplaying": "true"}
    track["url"] = "https://www.last.fm/music/Tame+Impala/_/Apocalypse+Dreams"
    return track


def lastfm_body(*tracks: Any) -> dict[str, Any]:
    attr = {"page": "1", "total": "94618", "user": "frikandel_", "perPage": "1"}
    return {"recenttracks": {"@attr": attr, "track": list(tracks)}}


def lb_listen(**overrides: Any) -> dict[str, Any]:
    listen: dict[str, Any] = {
        "inserted_at": 1771414107,
        "listened_at": 1771414109,
        "recording_msid": "fd0cad33-ea33-453b-8155-1292379277db",
        "user_name": "rob",
        "track_metadata": {
            "artist_name": "Röyksopp",
            "track_name": "Some Resolve",
            "release_name": "Profound Mysteries II",
            "additional_info": {
                "duration_ms": 402390,
                "recording_mbid": "30d08f4c-d825-4ae1-b79c-44242cddd7c0",
                "release_mbid": "f1418001-7f1e-46af-bfdb-95faeded8841",
                "submission_client": "navidrome",
            },
            "mbid_mapping": {
                "recording_mbid": "30d08f4c-d825-4ae1-b79c-44242cddd7c0",
                "recording_name": "Some Resolve",
                "release_mbid": "e96c2e7b-94fd-4fbe-9c44-1a27d8664825",
                "artists": [
                    {"artist_mbid": "1c70a3fc", "artist_credit_name": "Röyksopp", "join_phrase": ""}
                ],
                "caa_id": 32916450708,
                "caa_release_mbid": "f1418001-7f1e-46af-bfdb-95faeded8841",
                "url_rels": [
                    {
                        "type": "free streaming",
                        "url": "https://open.spotify.com/track/7H7RaiZoTNPwjNLygV4fXQ",
                    }
                ],
            },
        },
    }
    listen.update(overrides)
    return listen


def lb_playing_now() -> dict[str, Any]:
    """A playing-now listen: no listened_at, and usually no mapping."""
    return {
        "playing_now": True,
        "track_metadata": {
            "artist_name": "Mdou Moctar",
            "track_name": "Inizgam",
            "release_name": "Ilana (The Creator)",
            "additional_info": {"media_player": "BrainzPlayer", "music_service": "youtube.com"},
        },
    }


def lb_body(*listens: Any, playing_now: bool = False) -> dict[str, Any]:
    payload: dict[str, Any] = {"count": len(listens), "user_id": "rob", "listens": list(listens)}
    if playing_now:
        payload["playing_now"] = True
    return {"payload": payload}
