"""The failover chooser, pure: statuses in, the published source out. No mocks, no clock."""

from __future__ import annotations

from poller.failover import Status, choose, should_read
from poller.providers.lastfm.normalize import normalize_recent_tracks
from shared.document import Song
from tests.scrobble_payloads import lastfm_body, lastfm_now_playing, lastfm_track

NOW = 1_000_000
ORDER = ("spotify", "lastfm", "listenbrainz")


def song(playing: bool, provider: str = "spotify") -> Song:
    body = lastfm_body(lastfm_now_playing() if playing else lastfm_track())
    found = normalize_recent_tracks(body)
    assert found is not None
    found["provider"] = provider  # type: ignore[typeddict-item]
    return found


def ok(s: Song | None, at: int = NOW) -> Status:
    return Status(song=s, ok_at_ms=at, fresh_until_ms=at + 15_000)


def failing(
    kind: str, s: Song | None = None, at: int = NOW - 1000, retry: int | None = None
) -> Status:
    return Status(s, at, at + 15_000, kind, f"{kind}!", retry)  # type: ignore[arg-type]


def test_the_preferred_source_wins_when_it_answers() -> None:
    choice = choose(ORDER, {"spotify": ok(song(True)), "lastfm": ok(song(True, "lastfm"))}, NOW)
    assert choice.provider == "spotify" and choice.stale is False


def test_an_auth_error_hands_over_to_the_next() -> None:
    statuses = {"spotify": failing("auth", song(True)), "lastfm": ok(song(False, "lastfm"))}
    choice = choose(ORDER, statuses, NOW)
    assert choice.provider == "lastfm" and choice.stale is False


def test_a_quota_pause_hands_over_at_once() -> None:
    paused = failing("paused", song(True), retry=NOW + 40_000_000)
    choice = choose(ORDER, {"spotify": paused, "lastfm": ok(song(True, "lastfm"))}, NOW)
    assert choice.provider == "lastfm" and choice.paused_until is None


def test_a_rate_limit_longer_than_the_window_hands_over() -> None:
    limited = failing("rate_limited", song(True), retry=NOW + 60_000)
    choice = choose(ORDER, {"spotify": limited, "lastfm": ok(song(False, "lastfm"))}, NOW)
    assert choice.provider == "lastfm"


def test_a_short_failure_keeps_the_preferred_source_and_its_song() -> None:
    blip = failing("unavailable", song(True), retry=NOW + 5_000)
    choice = choose(ORDER, {"spotify": blip, "lastfm": ok(song(True, "lastfm"))}, NOW)
    assert choice.provider == "spotify" and choice.song is blip.song and not choice.stale


def test_unreachable_past_the_stale_window_hands_over() -> None:
    old = failing("unavailable", song(True), at=NOW - 20_000, retry=NOW + 5_000)
    choice = choose(ORDER, {"spotify": old, "lastfm": ok(song(False, "lastfm"))}, NOW)
    assert choice.provider == "lastfm"


def test_back_to_the_preferred_once_it_answers_again() -> None:
    statuses = {"spotify": ok(song(False)), "lastfm": ok(song(False, "lastfm"))}
    assert choose(ORDER, statuses, NOW).provider == "spotify"


def test_playing_elsewhere_beats_a_preferred_recent_item() -> None:
    statuses = {"spotify": ok(song(False)), "lastfm": ok(song(True, "lastfm"))}
    choice = choose(ORDER, statuses, NOW)
    assert choice.provider == "lastfm" and choice.states["spotify"] == "standby"


def test_a_known_item_beats_a_preferred_source_that_knows_nothing() -> None:
    statuses = {"spotify": ok(None), "lastfm": ok(song(False, "lastfm"))}
    assert choose(ORDER, statuses, NOW).provider == "lastfm"


def test_two_playing_sources_follow_the_preference() -> None:
    statuses = {"lastfm": ok(song(True, "lastfm")), "listenbrainz": ok(song(True, "listenbrainz"))}
    assert choose(ORDER, statuses, NOW).provider == "lastfm"


def test_nothing_answering_is_stale_and_keeps_the_last_song() -> None:
    choice = choose(ORDER, {"spotify": failing("auth", song(True))}, NOW)
    assert choice.provider is None and choice.stale is True and choice.song is None


def test_paused_until_is_set_only_when_nothing_else_answers() -> None:
    paused = failing("paused", song(True), retry=NOW + 40_000_000)
    choice = choose(ORDER, {"spotify": paused, "lastfm": failing("config")}, NOW)
    assert choice.paused_until == NOW + 40_000_000 and choice.stale is True


def test_states_name_each_source() -> None:
    statuses = {"spotify": failing("auth"), "lastfm": ok(song(False, "lastfm"))}
    assert choose(ORDER, statuses, NOW).states == {
        "spotify": "auth",
        "lastfm": "active",
        "listenbrainz": "unknown",
    }


def test_a_lower_source_is_not_read_while_a_preferred_one_plays() -> None:
    assert not should_read("lastfm", ORDER, {"spotify": ok(song(True))}, NOW)


def test_a_lower_source_is_read_while_the_preferred_one_is_idle() -> None:
    assert should_read("lastfm", ORDER, {"spotify": ok(song(False))}, NOW)
