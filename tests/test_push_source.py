"""The pushed item (shared/pushed.py) and the push source: expiry, what ends a playing
item, zero provider calls, the poller reading it at once on a `push` wake, and SOURCES."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import pytest

from poller import history, push_wake
from poller.failover import Status, choose
from poller.providers.push import build
from poller.service import Poller
from poller.source import SourceContext
from shared.config import Settings
from shared.pushed import (
    DEFAULT_PLAY_MS,
    Pushed,
    cleared,
    decode_pushed,
    encode_pushed,
    listened,
    make_song,
    now_playing,
    paused,
    read_pushed,
    resumed,
    song_at,
    update_pushed,
)
from shared.store import Store, connect
from tests.conftest import ManualClock, RedisServer
from tests.ingestutil import TOKEN

T0 = 1_763_900_000_000


def track(name: str = "Song", duration_ms: int | None = 200_000) -> Any:
    return make_song(name=name, artists=["Artist"], duration_ms=duration_ms)


def test_a_playing_item_plays_for_its_duration_from_arrival() -> None:
    record = now_playing(None, track(), T0)
    playing = song_at(record, T0 + 199_999)
    assert playing is not None and playing["isPlaying"] and playing["source"] == "current"
    assert playing["progressMs"] == 0 and playing["progressAt"] == T0
    ended = song_at(record, T0 + 200_000)
    assert ended is not None and ended["isPlaying"] is False and ended["source"] == "recent"
    assert ended["playedAt"] == "2025-11-23T12:13:20.000Z" and ended["progressMs"] is None


def test_without_a_duration_it_plays_for_ten_minutes() -> None:
    record = now_playing(None, track(duration_ms=None), T0)
    assert song_at(record, T0 + DEFAULT_PLAY_MS - 1)["isPlaying"]  # type: ignore[index]
    assert not song_at(record, T0 + DEFAULT_PLAY_MS)["isPlaying"]  # type: ignore[index]


def test_a_known_position_shortens_what_is_left() -> None:
    record = now_playing(None, track(), T0, position_ms=150_000)
    assert song_at(record, T0 + 49_000)["progressMs"] == 150_000  # type: ignore[index]
    assert song_at(record, T0 + 50_000)["source"] == "recent"  # type: ignore[index]


def test_pause_freezes_the_position_and_resume_goes_on_from_it() -> None:
    record = now_playing(None, track(), T0)
    held = paused(record, T0 + 30_000)
    assert held is not None
    song = song_at(held, T0 + 500_000)  # a paused item does not run out
    assert song is not None and song["isPlaying"] is False and song["progressMs"] == 30_000
    again = resumed(held, T0 + 600_000)
    assert again is not None and again.expires_at == T0 + 600_000 + 170_000
    assert paused(None, T0) is None and resumed(Pushed(), T0) is None


def test_the_playing_item_told_again_keeps_its_position() -> None:
    record = now_playing(None, track(), T0)
    again = now_playing(record, track(), T0 + 60_000)  # a client's periodic resend
    song = song_at(again, T0 + 60_000)
    assert song is not None and song["isPlaying"]
    assert song["progressMs"] + (T0 + 60_000 - song["progressAt"]) == 60_000
    assert again.expires_at == T0 + 200_000  # it still ends when it would have


def test_the_playing_item_told_again_starts_no_new_history_session() -> None:
    record = now_playing(None, track(), T0)
    first = history.observe(None, song_at(record, T0 + 1_000), T0 + 1_000)
    again = now_playing(record, track(), T0 + 190_000)  # resent near its end
    step = history.observe(first.open, song_at(again, T0 + 191_000), T0 + 191_000)
    assert step.ended == [] and step.open is not None
    assert step.open["session"]["id"] == first.open["session"]["id"]  # type: ignore[index]


def test_the_paused_item_told_playing_again_resumes_from_its_position() -> None:
    held = paused(now_playing(None, track(), T0), T0 + 30_000)
    again = now_playing(held, track(), T0 + 90_000)
    song = song_at(again, T0 + 90_000)
    assert song is not None and song["isPlaying"] and song["progressMs"] == 30_000


def test_another_item_told_starts_from_zero() -> None:
    record = now_playing(None, track("One"), T0)
    other = now_playing(record, track("Two"), T0 + 60_000)
    song = song_at(other, T0 + 60_000)
    assert song is not None and song["name"] == "Two"
    assert song["progressMs"] == 0 and song["progressAt"] == T0 + 60_000


def test_the_same_track_from_another_release_starts_from_zero() -> None:
    record = now_playing(None, track(), T0)
    live = make_song(name="Song", artists=["Artist"], album="Live", duration_ms=200_000)
    song = song_at(now_playing(record, live, T0 + 60_000), T0 + 60_000)
    assert song is not None and song["progressAt"] == T0 + 60_000 and song["progressMs"] == 0


def test_the_same_item_told_after_its_duration_passed_starts_from_zero() -> None:
    record = now_playing(None, track(), T0)
    again = now_playing(record, track(), T0 + 250_000)  # played through, then on repeat
    song = song_at(again, T0 + 250_000)
    assert song is not None and song["progressMs"] == 0 and song["progressAt"] == T0 + 250_000
    assert again.expires_at == T0 + 450_000


def test_the_playing_item_told_again_with_a_position_takes_that_position() -> None:
    record = now_playing(None, track(), T0)
    seek = now_playing(record, track(), T0 + 60_000, position_ms=10_000)
    song = song_at(seek, T0 + 60_000)
    assert song is not None and song["progressMs"] == 10_000


def test_a_single_for_the_playing_item_does_not_end_it_a_late_one_neither() -> None:
    record = now_playing(None, track("Now"), T0)
    same = listened(record, track("now"), T0 - 5_000)  # its own single, at half the track
    assert song_at(same, T0 + 1)["name"] == "Now"  # type: ignore[index]
    late = listened(record, track("Before"), T0 - 200_000)  # the previous track, late
    assert song_at(late, T0 + 1)["isPlaying"]  # type: ignore[index]
    assert late.ended is not None and late.ended["name"] == "Before"


def test_a_single_for_a_track_started_after_it_ends_the_playing_item() -> None:
    record = now_playing(None, track("Now"), T0)
    moved = listened(record, track("Next"), T0 + 60_000)
    song = song_at(moved, T0 + 61_000)
    assert song is not None and song["name"] == "Next" and song["source"] == "recent"


def test_an_older_listen_does_not_replace_the_latest_ended_play() -> None:
    record = listened(None, track("New"), T0)
    record = listened(record, track("Old"), T0 - 60_000)
    assert record.ended is not None and record.ended["name"] == "New"


def test_clear_keeps_the_latest_ended_play() -> None:
    record = listened(now_playing(None, track("Now"), T0), track("Now"), T0)
    after = cleared(record)
    assert after is not None and song_at(after, T0 + 1)["source"] == "recent"  # type: ignore[index]
    assert cleared(None) is None


def test_the_record_round_trips_and_garbage_reads_as_nothing() -> None:
    record = listened(now_playing(None, track(), T0), track("B"), T0 - 10_000)
    assert decode_pushed(encode_pushed(record)) == record
    for raw in (b"", b"{", b"[]", b'{"item": 5, "playing": true}', b'{"playing": "yes"}'):
        assert decode_pushed(raw) is None


async def test_the_source_reads_redis_only(fake_store: Store, clock: ManualClock) -> None:
    settings = Settings(redis_prefix=fake_store.keys.prefix, ingest_token=TOKEN)
    async with httpx.AsyncClient() as http:
        source = build(SourceContext(settings, http, clock, fake_store))
        off = build(SourceContext(Settings(), http, clock, fake_store))
    assert source is not None and off is None
    assert await source.read(clock.ms()) is None
    await update_pushed(fake_store, lambda prev: now_playing(prev, track(), clock.ms()))
    song = await source.read(clock.ms() + 1000)
    assert song is not None and song["provider"] == "push" and song["isPlaying"]
    assert source.take_calls() == {}


class Driven(Poller):
    planned: list[float]

    def _schedule_poll(self, delay_s: float) -> None:
        super()._schedule_poll(delay_s)
        self.planned.append(delay_s)

    def scheduler_missing(self) -> bool:
        return False


NO_SPOTIFY: dict[str, Any] = {"client_id": None, "client_secret": None, "refresh_token": None}


async def test_a_push_wake_reads_the_push_source_at_once_and_publishes(
    fake_store: Store, clock: ManualClock
) -> None:
    settings = Settings(
        redis_prefix=fake_store.keys.prefix,
        ingest_token=TOKEN,
        lastfm_api_key="k",
        lastfm_user="u",
        lastfm_api_url="http://127.0.0.1:9/",  # never reached in this test
    )
    assert settings.source_order == ("push", "lastfm")
    async with httpx.AsyncClient() as http:
        poller = Driven(settings, fake_store, http, clock=clock, seed=1)
        poller.planned, poller.is_leader = [], True
        assert "push" in poller.round.slots
        push, lastfm = poller.round.slots["push"], poller.round.slots["lastfm"]
        push.due_ms = lastfm.due_ms = clock.ms() + 60_000
        poller.last_poll_ms = clock.ms()  # a poll just now: a "view" would be coalesced
        await update_pushed(fake_store, lambda prev: now_playing(prev, track(), clock.ms()))
        assert poller.on_wake("push")
        assert not poller.on_wake("view")  # the coalescing still holds for views
        reader = push_wake._READERS[poller]
        assert reader.task is not None
        await reader.task  # the round the wake started
        assert lastfm.due_ms == clock.ms() + 60_000  # the other sources keep their plan
        assert push.due_ms > clock.ms()  # read, and planned again
    document = await fake_store.current()
    assert document is not None and document["song"] is not None
    assert document["song"]["provider"] == "push" and document["song"]["isPlaying"]
    assert (await read_pushed(fake_store)) is not None


def test_push_takes_part_in_sources_a_playing_push_beats_a_preferred_past_item() -> None:
    settings = Settings(ingest_token=TOKEN, client_id="id", client_secret="secret")
    assert settings.source_order[0] == "push"  # first in the default order
    pushed = song_at(now_playing(None, track("Pushed"), T0), T0 + 1)
    recent = song_at(listened(None, track("Old"), T0 - 60_000), T0)
    statuses = {
        "spotify": Status(song=recent, ok_at_ms=T0, fresh_until_ms=T0 + 15_000),
        "push": Status(song=pushed, ok_at_ms=T0, fresh_until_ms=T0 + 15_000),
    }
    chosen = choose(("spotify", "push"), statuses, T0 + 1)
    assert chosen.provider == "push" and chosen.song is not None and chosen.song["isPlaying"]
    assert choose(("push", "spotify"), statuses, T0 + 1).provider == "push"


async def test_a_wake_during_a_round_in_flight_is_not_lost(
    fake_store: Store, clock: ManualClock
) -> None:
    """The round in flight reads the old record and plans its next read seconds ahead;
    the wake's own round, after it, still reads the new one."""
    settings = Settings(redis_prefix=fake_store.keys.prefix, ingest_token=TOKEN)
    async with httpx.AsyncClient() as http:
        poller = Driven(settings, fake_store, http, clock=clock, seed=1)
        poller.planned, poller.is_leader = [], True
        assert "push" in poller.round.slots
        await update_pushed(fake_store, lambda prev: now_playing(prev, track("Old"), clock.ms()))
        async with poller._lock:  # a round in flight holds the lock
            round_in_flight = await poller.poll_round()
            await update_pushed(
                fake_store, lambda prev: now_playing(prev, track("New"), clock.ms())
            )
            assert poller.on_wake("push")
        assert round_in_flight >= 1  # it planned the next read well ahead
        reader = push_wake._READERS[poller]
        assert reader.task is not None
        await reader.task
    document = await fake_store.current()
    assert document is not None and document["song"] is not None
    assert document["song"]["name"] == "New"


@pytest.mark.redis
async def test_concurrent_submissions_from_two_web_processes_are_all_kept(
    redis_server: RedisServer,
) -> None:
    """WATCH on a real Redis: two writers (two web processes) folding listens into the
    pushed item at once lose none, and each write publishes one `push` wake."""
    prefix = f"t{uuid.uuid4().hex[:8]}"
    stores = [Store(connect(redis_server.url), prefix) for _ in range(2)]
    listener = stores[0].redis.pubsub()
    await listener.subscribe(stores[0].keys.wake)
    await listener.get_message(timeout=1)
    try:

        async def write(store: Store, n: int) -> None:
            await update_pushed(
                store, lambda prev: listened(prev, track(f"Listen {n}"), T0 + n * 1000)
            )

        await asyncio.gather(*(write(stores[n % 2], n) for n in range(40)))
        record = await read_pushed(stores[1])
        assert record is not None and record.ended is not None
        assert record.ended["name"] == "Listen 39" and record.ended_at == T0 + 39_000
        wakes = 0
        while await listener.get_message(ignore_subscribe_messages=True, timeout=0.2):
            wakes += 1
        assert wakes == 40
    finally:
        await listener.aclose()
        for store in stores:
            await store.close()


def test_ingest_token_alone_is_a_provider_so_run_shows_no_demo_player() -> None:
    """`nowplaying run` with only INGEST_TOKEN shows what is pushed, never the simulated
    player (which would cover the pushes and say `demo: true`)."""
    settings = Settings(ingest_token=TOKEN)
    assert settings.has_provider and settings.source_order == ("push",)
    assert not Settings().has_provider
