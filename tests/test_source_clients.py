"""The Last.fm and ListenBrainz clients against their simulators (in-process, manual clock):
every documented error becomes its own SourceError kind, and rate limits are obeyed."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import httpx
import pytest

from nowplaying.simulator.combined import Simulators, build_simulators
from nowplaying.simulator.scrobble import Fault
from nowplaying.simulator.spotify import SimState
from poller.providers.lastfm.client import LastfmClient
from poller.providers.lastfm.normalize import normalize_recent_tracks
from poller.providers.listenbrainz.client import ListenBrainzClient
from poller.providers.listenbrainz.normalize import normalize_listens, normalize_playing_now
from poller.providers.spotify.client import WebApiClient
from poller.source import SourceError
from shared import setup_errors
from shared.spotify import (
    MAX_RETRY_AFTER_S,
    Forbidden,
    QuotaExceeded,
    parse_retry_after,
)
from tests.conftest import ManualClock

BASE = "http://sim.test"


@pytest.fixture
def sims(sim: SimState) -> Simulators:
    return build_simulators(sim)


@pytest.fixture
async def http(sims: Simulators) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=sims.app)
    async with httpx.AsyncClient(transport=transport) as client:
        yield client


def lastfm(http: httpx.AsyncClient, clock: ManualClock, **kw: str) -> LastfmClient:
    args = {"api_key": "sim-lastfm-key", "user": "sim-user"} | kw
    return LastfmClient(http, f"{BASE}/lastfm/2.0/", args["api_key"], args["user"], clock)


def listenbrainz(
    http: httpx.AsyncClient, clock: ManualClock, user: str = "sim-user", token: str | None = None
) -> ListenBrainzClient:
    return ListenBrainzClient(http, f"{BASE}/listenbrainz", user, token, clock)


async def kind_of(call: object) -> str:
    with pytest.raises(SourceError) as caught:
        await call  # type: ignore[misc]
    return caught.value.kind


# -- Last.fm ------------------------------------------------------------------------------


async def test_lastfm_shows_the_track_the_player_plays(
    http: httpx.AsyncClient, clock: ManualClock
) -> None:
    song = normalize_recent_tracks(await lastfm(http, clock).recent_tracks())
    assert song is not None and song["name"] == "Never Gonna Give You Up" and song["isPlaying"]


async def test_lastfm_shows_the_last_scrobble_when_stopped(
    http: httpx.AsyncClient, clock: ManualClock, sim: SimState
) -> None:
    sim.player.set_state(sim.clock(), mode="stopped")
    song = normalize_recent_tracks(await lastfm(http, clock).recent_tracks())
    assert song is not None and song["source"] == "recent" and song["playedAt"] is not None


async def test_lastfm_wrong_key_is_an_auth_error(
    http: httpx.AsyncClient, clock: ManualClock
) -> None:
    assert await kind_of(lastfm(http, clock, api_key="nope").recent_tracks()) == "auth"


async def test_lastfm_unknown_user_is_a_config_error(
    http: httpx.AsyncClient, clock: ManualClock
) -> None:
    assert await kind_of(lastfm(http, clock, user="nobody").recent_tracks()) == "config"


@pytest.mark.parametrize(
    ("fault", "kind"),
    [
        ("bad_key", "auth"),
        ("unknown_user", "config"),
        ("private", "config"),
        ("rate_limit", "rate_limited"),
        ("5xx", "unavailable"),
        ("malformed", "unavailable"),
    ],
)
async def test_lastfm_faults_become_their_own_state(
    http: httpx.AsyncClient, clock: ManualClock, sims: Simulators, fault: str, kind: str
) -> None:
    sims.lastfm.faults.append(Fault(fault))
    assert await kind_of(lastfm(http, clock).recent_tracks()) == kind


async def test_lastfm_private_history_message_names_the_fix(
    http: httpx.AsyncClient, clock: ManualClock, sims: Simulators
) -> None:
    sims.lastfm.faults.append(Fault("private"))
    with pytest.raises(SourceError) as caught:
        await lastfm(http, clock).recent_tracks()
    assert "Hide recent listening information" in caught.value.message


async def test_lastfm_error_29_stops_calls_for_a_minute(
    http: httpx.AsyncClient, clock: ManualClock, sims: Simulators
) -> None:
    client = lastfm(http, clock)
    sims.lastfm.faults.append(Fault("rate_limit"))
    await kind_of(client.recent_tracks())
    clock.advance(30)
    assert await kind_of(client.recent_tracks()) == "rate_limited"
    assert sims.lastfm.calls["recenttracks"] == 1
    clock.advance(31)
    assert await client.recent_tracks()


async def test_lastfm_the_api_key_is_in_no_error_message(
    http: httpx.AsyncClient, clock: ManualClock, sims: Simulators
) -> None:
    messages = []
    for fault in ("bad_key", "unknown_user", "private", "rate_limit", "5xx", "malformed"):
        sims.lastfm.faults.append(Fault(fault))
        with pytest.raises(SourceError) as caught:
            await lastfm(http, clock, api_key="sim-lastfm-key").recent_tracks()
        clock.advance(120)
        messages.append(caught.value.message)
    assert not any("sim-lastfm-key" in m for m in messages)


async def test_lastfm_unreachable_is_unavailable(clock: ManualClock) -> None:
    async with httpx.AsyncClient() as http:
        client = LastfmClient(http, "http://127.0.0.1:9/", "key", "u", clock)
        assert await kind_of(client.recent_tracks()) == "unavailable"


# -- ListenBrainz -------------------------------------------------------------------------


async def test_listenbrainz_playing_now_shows_the_track_the_player_plays(
    http: httpx.AsyncClient, clock: ManualClock
) -> None:
    song = normalize_playing_now(await listenbrainz(http, clock).playing_now())
    assert song is not None and song["name"] == "Never Gonna Give You Up" and song["isPlaying"]


async def test_listenbrainz_listens_carry_cover_art(
    http: httpx.AsyncClient, clock: ManualClock
) -> None:
    song = normalize_listens(await listenbrainz(http, clock).listens())
    assert song is not None and song["albumImageUrl"] is not None
    assert song["albumImageUrl"].startswith("https://coverartarchive.org/release/")


async def test_listenbrainz_unknown_user_is_a_config_error(
    http: httpx.AsyncClient, clock: ManualClock
) -> None:
    assert await kind_of(listenbrainz(http, clock, user="nobody").playing_now()) == "config"


async def test_listenbrainz_bad_token_is_an_auth_error(
    http: httpx.AsyncClient, clock: ManualClock
) -> None:
    assert await kind_of(listenbrainz(http, clock, token="wrong").playing_now()) == "auth"


async def test_listenbrainz_a_valid_token_is_sent(
    http: httpx.AsyncClient, clock: ManualClock, sims: Simulators
) -> None:
    sims.listenbrainz.token = "good-token"
    assert await listenbrainz(http, clock, token="good-token").playing_now()


@pytest.mark.parametrize(
    ("fault", "kind"),
    [("5xx", "unavailable"), ("malformed", "unavailable"), ("rate_limit", "rate_limited")],
)
async def test_listenbrainz_faults_become_their_own_state(
    http: httpx.AsyncClient, clock: ManualClock, sims: Simulators, fault: str, kind: str
) -> None:
    sims.listenbrainz.faults.append(Fault(fault))
    assert await kind_of(listenbrainz(http, clock).playing_now()) == kind


async def test_listenbrainz_429_waits_for_reset_in(
    http: httpx.AsyncClient, clock: ManualClock, sims: Simulators
) -> None:
    client = listenbrainz(http, clock)
    sims.listenbrainz.faults.append(Fault("rate_limit", retry_after_s=7))
    await kind_of(client.playing_now())
    clock.advance(6)
    with pytest.raises(SourceError) as caught:
        await client.playing_now()
    assert caught.value.kind == "rate_limited" and sims.listenbrainz.calls["playing-now"] == 1
    clock.advance(2)
    assert await client.playing_now()


async def test_listenbrainz_no_call_once_the_window_is_used_up(
    http: httpx.AsyncClient, clock: ManualClock, sims: Simulators
) -> None:
    client = listenbrainz(http, clock)
    for _ in range(30):  # the simulator's window: 30 calls in 10 s
        await client.playing_now()
    assert await kind_of(client.playing_now()) == "rate_limited"
    assert sims.listenbrainz.calls["playing-now"] == 30


def test_log_lines_redact_an_api_key_in_a_query_string() -> None:
    from shared.logs import RedactingFilter

    line = "GET https://ws.audioscrobbler.com/2.0/?method=x&api_key=abcdef123&format=json"
    assert "abcdef123" not in RedactingFilter().redact(line)


async def test_listenbrainz_a_user_name_with_a_slash_stays_one_path_segment(
    http: httpx.AsyncClient, clock: ManualClock
) -> None:
    assert await kind_of(listenbrainz(http, clock, user="sim-user/../x").playing_now()) == "config"


# -- Spotify: errors as the real service sends them -------------------------------------

DEV_MODE_403S = [
    ("Active premium subscription required for the owner of the app", "premium_required"),
    ("User not registered in the Developer Dashboard", "user_not_registered"),
    ("The user may not be registered.", "user_not_registered"),
]


def spotify_answering(response: httpx.Response, clock: ManualClock) -> WebApiClient:
    transport = httpx.MockTransport(lambda request: response)
    return WebApiClient(
        http=httpx.AsyncClient(transport=transport),
        accounts_url=BASE,
        api_url=BASE,
        clock=clock,
    )


async def forbidden_cause(client: WebApiClient) -> str | None:
    with pytest.raises(Forbidden) as caught:
        await client.currently_playing("token")
    return setup_errors.from_forbidden(caught.value.message)


@pytest.mark.parametrize(("text", "cause"), DEV_MODE_403S)
async def test_spotify_a_plain_text_403_names_its_setup_cause(
    clock: ManualClock, text: str, cause: str
) -> None:
    answer = httpx.Response(403, text=text, headers={"content-type": "text/plain"})
    assert await forbidden_cause(spotify_answering(answer, clock)) == cause


@pytest.mark.parametrize(("text", "cause"), DEV_MODE_403S)
async def test_spotify_a_json_403_names_its_setup_cause(
    clock: ManualClock, text: str, cause: str
) -> None:
    answer = httpx.Response(403, json={"error": {"status": 403, "message": text}})
    assert await forbidden_cause(spotify_answering(answer, clock)) == cause


def test_spotify_a_day_long_retry_after_is_honoured() -> None:
    assert parse_retry_after("86400") == 86400


def test_spotify_a_retry_after_past_the_cap_waits_the_cap_and_says_so(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger="nowplaying.spotify"):
        assert parse_retry_after("99999999") == MAX_RETRY_AFTER_S
    assert any("99999999" in r.getMessage() for r in caplog.records)


def test_spotify_a_missing_retry_after_waits_thirty_seconds() -> None:
    assert parse_retry_after(None) == 30


@pytest.mark.parametrize("value", ["soon", "-5", "nan", ""])
def test_spotify_an_unreadable_retry_after_waits_thirty_seconds(value: str) -> None:
    assert parse_retry_after(value) == 30


async def test_spotify_a_quota_exceeded_with_a_day_long_retry_after_closes_the_gate_a_day(
    clock: ManualClock,
) -> None:
    answer = httpx.Response(
        429,
        headers={"retry-after": "86400"},
        json={
            "error": {
                "status": 429,
                "message": "API rate limit exceeded",
                "reason": "QUOTA_EXCEEDED",
            }
        },
    )
    client = spotify_answering(answer, clock)
    with pytest.raises(QuotaExceeded):
        await client.currently_playing("token")
    assert client.blocked_until_s == clock() + 86400
