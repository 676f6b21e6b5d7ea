"""The session tracker, pure: scripted observations in, sessions out. No mocks, no Redis."""

from __future__ import annotations

from typing import Any

from poller.history import IDLE_MS, OpenSession, observe
from shared.document import Song
from shared.history import Session

T0 = 1_763_900_000_000
MIN = 60_000


def song(name: str = "A", *, progress: int | None = 0, playing: bool = True, **kw: Any) -> Song:
    value: Song = {
        "isPlaying": playing,
        "source": "current",
        "type": "track",
        "id": f"id-{name}",
        "name": name,
        "artists": ["Artist"],
        "album": "Album",
        "albumImageUrl": "https://i.scdn.co/image/x",
        "images": [],
        "spotifyUrl": f"https://open.spotify.com/track/{name}",
        "previewUrl": None,
        "durationMs": 200_000,
        "progressMs": progress,
        "progressAt": 0,
        "playedAt": None,
        "explicit": False,
        "provider": "spotify",
        "url": f"https://open.spotify.com/track/{name}",
    }
    return value | kw  # type: ignore[return-value]


class Script:
    """Feeds observations in order, collecting every ended session."""

    def __init__(self) -> None:
        self.state: OpenSession | None = None
        self.ended: list[Session] = []

    def see(self, at: int, item: Song | None) -> None:
        step = observe(self.state, item, at)
        self.state = step.open
        self.ended += step.ended


def test_a_track_played_through_then_another_is_two_sessions() -> None:
    s = Script()
    for t in range(0, 200_001, 5000):
        s.see(T0 + t, song("A", progress=t))
    s.see(T0 + 205_000, song("B", progress=3000))
    [a] = s.ended
    assert a["name"] == "A" and a["startedAt"] == T0 and a["endedAt"] == T0 + 202_000
    assert a["listenedMs"] == 200_000 and a["skipped"] is False
    assert set(a) == {
        "id",
        "provider",
        "type",
        "name",
        "artists",
        "album",
        "url",
        "imageUrl",
        "startedAt",
        "endedAt",
        "listenedMs",
        "durationMs",
        "skipped",
        "source",
        "explicit",
    }  # fmt: skip (as stored: /api/history lists all but `explicit`)
    assert s.state is not None and s.state["session"]["startedAt"] == T0 + 202_000


def test_a_track_left_after_a_minute_is_skipped() -> None:
    s = Script()
    s.see(T0, song("A", progress=0))
    s.see(T0 + MIN, song("A", progress=MIN))
    s.see(T0 + MIN + 5000, song("B", progress=1000))
    [a] = s.ended
    assert a["skipped"] is True and 60_000 <= a["listenedMs"] <= 65_000


def test_pauses_do_not_count_as_listening() -> None:
    s = Script()
    s.see(T0, song("A", progress=0))
    s.see(T0 + 30_000, song("A", progress=30_000))
    s.see(T0 + 35_000, song("A", progress=30_000, playing=False))
    s.see(T0 + 5 * MIN, song("A", progress=30_000, playing=False))
    s.see(T0 + 5 * MIN + 5000, song("A", progress=35_000))
    s.see(T0 + 5 * MIN + 10_000, None)
    [a] = s.ended
    assert a["listenedMs"] == 40_000  # 30 s, 5 s until the pause was seen, 5 s after play


def test_a_pause_longer_than_the_idle_window_ends_the_session_when_it_began() -> None:
    s = Script()
    s.see(T0, song("A", progress=0))
    s.see(T0 + 10_000, song("A", progress=10_000, playing=False))
    s.see(T0 + 10_000 + IDLE_MS + 1, song("A", progress=10_000, playing=False))
    [a] = s.ended
    assert a["endedAt"] == T0 + 10_000 and a["listenedMs"] == 10_000
    assert s.state is None  # paused: no new session until it plays again
    s.see(T0 + 11 * MIN, song("A", progress=10_000))
    assert s.state is not None and s.state["session"]["id"] != a["id"]


def test_a_short_pause_keeps_the_session() -> None:
    s = Script()
    s.see(T0, song("A", progress=0))
    s.see(T0 + 5000, song("A", progress=5000, playing=False))
    s.see(T0 + 9 * MIN, song("A", progress=5000))
    assert s.ended == [] and s.state is not None


def test_a_repeat_of_the_same_item_is_a_new_session() -> None:
    s = Script()
    for t in range(0, 200_001, 5000):
        s.see(T0 + t, song("A", progress=t))
    s.see(T0 + 204_000, song("A", progress=2000))
    [first] = s.ended
    assert s.state is not None
    second = s.state["session"]
    assert second["id"] != first["id"] and second["startedAt"] == T0 + 202_000


def test_a_seek_back_in_the_middle_is_no_repeat() -> None:
    s = Script()
    s.see(T0, song("A", progress=0))
    s.see(T0 + 60_000, song("A", progress=60_000))
    s.see(T0 + 65_000, song("A", progress=10_000))
    assert s.ended == []


def test_another_provider_ends_the_session() -> None:
    s = Script()
    s.see(T0, song("A", progress=0))
    s.see(T0 + 5000, song("A", progress=None, provider="lastfm", durationMs=None))
    [a] = s.ended
    assert a["provider"] == "spotify"
    assert s.state is not None and s.state["session"]["provider"] == "lastfm"


def test_nothing_playing_or_a_recent_item_ends_it() -> None:
    for after in (None, song("A", source="recent", playing=False, progress=None)):
        s = Script()
        s.see(T0, song("A", progress=0))
        s.see(T0 + 20_000, song("A", progress=20_000))
        s.see(T0 + 25_000, after)
        [a] = s.ended
        assert a["endedAt"] == T0 + 25_000 and a["listenedMs"] == 25_000
        assert s.state is None


def test_a_restart_in_the_middle_carries_on_with_the_stored_open_session() -> None:
    s = Script()
    s.see(T0, song("A", progress=0))
    s.see(T0 + 30_000, song("A", progress=30_000))
    stored = s.state  # what Redis keeps; a new process starts from it 40 s later
    again = Script()
    again.state = stored
    again.see(T0 + 70_000, song("A", progress=70_000))
    again.see(T0 + 75_000, None)
    [a] = again.ended
    assert a["listenedMs"] == 75_000 and a["startedAt"] == T0


def test_a_long_gap_without_observations_ends_the_session() -> None:
    s = Script()
    s.see(T0, song("A", progress=0, durationMs=3_600_000))
    s.see(T0 + 5000 + IDLE_MS + 1, song("A", progress=1_000_000, durationMs=3_600_000))
    [a] = s.ended
    assert a["listenedMs"] <= IDLE_MS and s.state is not None


def test_the_id_is_the_same_for_the_same_session_seen_by_two_pollers() -> None:
    one, two = Script(), Script()
    for s in (one, two):
        s.see(T0 + 10_000, song("A", progress=10_000))
        s.see(T0 + 20_000, song("B", progress=0))
    assert one.ended[0]["id"] == two.ended[0]["id"]
    assert one.ended[0]["startedAt"] == T0


def test_an_item_first_seen_paused_opens_nothing() -> None:
    s = Script()
    s.see(T0, song("A", progress=5000, playing=False))
    assert s.state is None and s.ended == []


def test_a_position_given_at_an_earlier_progress_at_is_extrapolated() -> None:
    # A pushed item (and any source that reports the position at a past moment) says
    # `progressMs` at `progressAt`, not at the observation: played through, it is no skip.
    s = Script()
    for t in range(0, 200_001, 5000):
        s.see(T0 + t, song("A", progress=0, progressAt=T0, provider="push"))
    s.see(T0 + 205_000, song("B", progress=0, progressAt=T0 + 205_000, provider="push"))
    [a] = s.ended
    assert a["name"] == "A" and a["startedAt"] == T0
    assert a["skipped"] is False
    assert abs(a["listenedMs"] - 200_000) <= 1000


def test_a_pushed_item_left_after_a_minute_is_skipped_and_one_played_again_repeats() -> None:
    s = Script()
    for t in range(0, 60_001, 5000):
        s.see(T0 + t, song("A", progress=0, progressAt=T0, provider="push"))
    s.see(T0 + 65_000, song("B", progress=0, progressAt=T0 + 65_000, provider="push"))
    for t in range(70_000, 265_001, 5000):  # B through, then B again from its start
        s.see(T0 + t, song("B", progress=0, progressAt=T0 + 65_000, provider="push"))
    for t in range(270_000, 300_001, 5000):
        s.see(T0 + t, song("B", progress=0, progressAt=T0 + 270_000, provider="push"))
    a, b = s.ended
    assert a["name"] == "A" and a["skipped"] is True
    assert b["name"] == "B" and b["skipped"] is False and s.state is not None
    assert s.state["session"]["name"] == "B" and s.state["session"]["startedAt"] >= T0 + 265_000


def test_a_session_keeps_the_explicit_flag_of_its_item() -> None:
    # The widget's data-explicit="hide" masks an explicit title on the live card; the
    # same title must not come back unmasked in the list of last plays under it.
    s = Script()
    s.see(T0, song("A", explicit=True))
    s.see(T0 + 60_000, song("B", explicit=None))
    s.see(T0 + 120_000, None)
    a, b = s.ended
    assert a["explicit"] is True and b["explicit"] is None


def test_when_the_provider_changes_the_old_session_runs_until_the_new_one_is_seen() -> None:
    # The new item's position says when *it* started on its own player, not when the
    # other provider's item stopped: A (pushed, seen once) played until B was seen.
    s = Script()
    s.see(T0, song("A", progress=0, progressAt=T0, provider="push", durationMs=None))
    s.see(T0 + 5000, song("B", progress=60_000, progressAt=T0 + 5000, provider="lanyard"))
    [a] = s.ended
    assert a["name"] == "A" and a["endedAt"] == T0 + 5000 and a["listenedMs"] == 5000
    assert s.state is not None and s.state["session"]["startedAt"] >= T0 + 5000 - 60_000
