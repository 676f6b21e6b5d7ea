"""The publisher: hide rules, the privacy switch, the history recorder and the delay line,
on fakeredis with a manual clock (no sleeping: the delay line is flushed by hand)."""

from __future__ import annotations

import dataclasses
import json
import logging
import time
from typing import Any

import httpx
import pytest

from poller.providers.spotify.client import WebApiClient, context_of
from poller.publisher import Publisher
from shared.config import HideRule, Settings
from shared.document import Song
from shared.history import read_page
from shared.privacy_switch import set_hidden
from shared.store import Store
from tests.conftest import ManualClock

SECRET = "Zyxwv Secret Song"


def item(name: str = "A", *, progress: int = 0, at: int = 0, **kw: Any) -> Song:
    value: Song = {
        "isPlaying": True,
        "source": "current",
        "type": "track",
        "id": f"id-{name.replace(' ', '')}",
        "name": name,
        "artists": ["Some Artist"],
        "album": "Some Album",
        "albumImageUrl": None,
        "images": [],
        "spotifyUrl": None,
        "previewUrl": None,
        "durationMs": 200_000,
        "progressMs": progress,
        "progressAt": at,
        "playedAt": None,
        "explicit": False,
        "provider": "spotify",
        "url": None,
    }
    return value | kw  # type: ignore[return-value]


def publisher(store: Store, clock: ManualClock, **settings: Any) -> Publisher:
    values = Settings(redis_prefix=store.keys.prefix)
    return Publisher(dataclasses.replace(values, **settings), store, demo=False, now_ms=clock.ms)


async def everything_in_redis(store: Store) -> str:
    """Every value under the prefix, as text: a hidden name must be in none of them."""
    found: list[str] = []
    async for key in store.redis.scan_iter(f"{store.keys.prefix}:*"):
        kind = (await store.redis.type(key)).decode()
        if kind == "string":
            found.append(repr(await store.redis.get(key)))
        elif kind == "hash":
            found.append(repr(await store.redis.hgetall(key)))
        elif kind == "zset":
            found.append(repr(await store.redis.zrange(key, 0, -1)))
    return "\n".join(found)


async def play_then_stop(pub: Publisher, clock: ManualClock, song: Song) -> None:
    for step in range(0, 60_000, 5000):
        await pub.publish(song | {"progressMs": step, "progressAt": clock.ms()}, stale=False)
        clock.advance(5)
    await pub.publish(None, stale=False)


# -- no privacy settings: the behaviour Poller._publish had ------------------------------


async def test_without_settings_a_change_goes_to_current_and_live_at_once(
    fake_store: Store, clock: ManualClock
) -> None:
    pub = publisher(fake_store, clock)
    document = await pub.publish(item(at=clock.ms()), stale=False)
    assert document is not None and document["version"] == 1
    current = await fake_store.current()
    assert current == document
    live = json.loads(await fake_store.redis.get(fake_store.keys.live))
    assert live["song"]["name"] == "A"


async def test_a_played_item_is_in_the_history_once_it_ended(
    fake_store: Store, clock: ManualClock
) -> None:
    pub = publisher(fake_store, clock)
    await play_then_stop(pub, clock, item("A"))
    items, cursor = await read_page(fake_store, limit=20, before=None, visible_until_ms=clock.ms())
    assert [s["name"] for s in items] == ["A"] and cursor is None
    assert items[0]["listenedMs"] == 60_000 and items[0]["skipped"] is True


# -- PRIVACY_HIDE ------------------------------------------------------------------------

RULES = {
    "artist": (HideRule("artist", "secret band"), {"artists": ["Other", "Secret BAND"]}),
    "album": (HideRule("album", "private album"), {"album": "Private Album"}),
    "show": (
        HideRule("show", "my therapy show"),
        {"type": "episode", "album": "My Therapy Show", "artists": ["Pub"]},
    ),
    "explicit": (HideRule("explicit"), {"explicit": True}),
    "context": (HideRule("context", "spotify:playlist:abc"), {}),
}


@pytest.mark.parametrize("kind", sorted(RULES))
async def test_a_hidden_item_is_nothing_playing_and_never_recorded_or_logged(
    kind: str, fake_store: Store, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    rule, fields = RULES[kind]
    pub = publisher(fake_store, clock, privacy_hide=(rule,))
    secret = item(SECRET) | fields
    pub.context = lambda: (secret["id"], "spotify:playlist:ABC")
    caplog.set_level(logging.DEBUG)
    await play_then_stop(pub, clock, secret)  # type: ignore[arg-type]
    current = await fake_store.current()
    assert current is not None and current["song"] is None
    assert SECRET not in await everything_in_redis(fake_store)
    assert SECRET not in caplog.text
    await play_then_stop(pub, clock, item("Fine Song"))
    items, _ = await read_page(fake_store, limit=20, before=None, visible_until_ms=clock.ms())
    assert [s["name"] for s in items] == ["Fine Song"]


async def test_a_context_rule_does_not_hide_the_same_track_from_another_context(
    fake_store: Store, clock: ManualClock
) -> None:
    pub = publisher(fake_store, clock, privacy_hide=(HideRule("context", "spotify:album:x"),))
    pub.context = lambda: ("id-A", "spotify:playlist:other")
    await pub.publish(item("A"), stale=False)
    current = await fake_store.current()
    assert current is not None and current["song"] is not None


# -- the switch ------------------------------------------------------------------------


async def test_the_switch_hides_at_once_records_nothing_and_show_brings_the_card_back(
    fake_store: Store, clock: ManualClock
) -> None:
    pub = publisher(fake_store, clock)
    await pub.publish(item("A", at=clock.ms()), stale=False)
    await set_hidden(fake_store, True)  # what `nowplaying privacy hide` does
    current = await fake_store.current()
    assert current is not None and current["song"] is None and current["version"] == 2
    await play_then_stop(pub, clock, item(SECRET))
    current = await fake_store.current()
    assert current is not None and current["song"] is None
    assert SECRET not in json.dumps(
        await read_page(fake_store, limit=20, before=None, visible_until_ms=clock.ms())
    )
    await pub.publish(item("B", at=clock.ms()), stale=False)
    await set_hidden(fake_store, False)  # `show`: the live document is back at once
    current = await fake_store.current()
    assert current is not None and current["song"] is not None
    assert current["song"]["name"] == "B"


async def test_the_privacy_wake_republishes_under_the_switch(
    fake_store: Store, clock: ManualClock
) -> None:
    pub = publisher(fake_store, clock)
    await pub.publish(item("A", at=clock.ms()), stale=False)
    await fake_store.redis.set(fake_store.keys.privacy, "1")  # switched elsewhere, no publish
    assert await pub.refresh() is not None
    current = await fake_store.current()
    assert current is not None and current["song"] is None
    await fake_store.redis.delete(fake_store.keys.privacy)
    await pub.refresh()
    current = await fake_store.current()
    assert current is not None and current["song"] is not None


async def test_a_stale_flip_while_hidden_keeps_the_live_song_for_show(
    fake_store: Store, clock: ManualClock
) -> None:
    pub = publisher(fake_store, clock)
    await pub.publish(item("A", at=clock.ms()), stale=False)
    await set_hidden(fake_store, True)
    await pub.publish(None, stale=True, keep_song=True)
    await set_hidden(fake_store, False)
    current = await fake_store.current()
    assert current is not None and current["song"] is not None and current["stale"] is True


# -- PRIVACY_DELAY ---------------------------------------------------------------------


async def test_the_delay_line_holds_each_change_back_and_shifts_its_times(
    fake_store: Store, clock: ManualClock
) -> None:
    pub = publisher(fake_store, clock, privacy_delay=30.0)
    t0 = clock.ms()
    await pub.publish(item("A", progress=10_000, at=t0), stale=False)
    assert await fake_store.current() is None
    clock.advance(29)
    assert await pub.flush() is None and await fake_store.current() is None
    clock.advance(1)
    document = await pub.flush()
    assert document is not None and document["version"] == 1
    assert document["updatedAt"] == t0 + 30_000
    song = document["song"]
    assert song is not None and song["progressMs"] == 10_000
    assert song["progressAt"] == t0 + 30_000  # the reader's position: 30 s behind the live one
    assert await fake_store.current() == document


async def test_the_delay_line_survives_a_restart(fake_store: Store, clock: ManualClock) -> None:
    first = publisher(fake_store, clock, privacy_delay=30.0)
    await first.publish(item("A", at=clock.ms()), stale=False)
    clock.advance(10)
    await first.publish(item("B", at=clock.ms()), stale=False)
    clock.advance(25)
    second = publisher(fake_store, clock, privacy_delay=30.0)  # a new process, or leader
    document = await second.flush()
    assert document is not None and document["song"] is not None
    assert document["song"]["name"] == "A"
    clock.advance(5)
    document = await second.flush()
    assert document is not None and document["song"] is not None
    assert document["song"]["name"] == "B" and document["version"] == 2


async def test_the_switch_masks_the_delayed_document_and_show_brings_it_back(
    fake_store: Store, clock: ManualClock
) -> None:
    pub = publisher(fake_store, clock, privacy_delay=30.0)
    await pub.publish(item("A", at=clock.ms()), stale=False)
    clock.advance(30)
    await pub.flush()
    await set_hidden(fake_store, True)
    current = await fake_store.current()
    assert current is not None and current["song"] is None
    await set_hidden(fake_store, False)
    current = await fake_store.current()
    assert current is not None and current["song"] is not None
    assert current["song"]["name"] == "A"


async def test_show_under_the_delay_never_brings_out_a_document_the_line_still_holds(
    fake_store: Store, clock: ManualClock
) -> None:
    # A fresh delayed poller has put its first document in the line (P:live) and nothing
    # has come out of it yet (no P:live:shown): `show` must not publish P:live, the live
    # document, ahead of PRIVACY_DELAY; the line brings it when it is due.
    pub = publisher(fake_store, clock, privacy_delay=30.0)
    await set_hidden(fake_store, True)
    await pub.publish(item("Too Early", at=clock.ms()), stale=False)
    await set_hidden(fake_store, False)
    current = await fake_store.current()
    assert current is None or current["song"] is None
    clock.advance(30)
    await pub.flush()
    current = await fake_store.current()
    assert current is not None and current["song"] is not None
    assert current["song"]["name"] == "Too Early"


# -- two pollers -------------------------------------------------------------------------


async def test_two_pollers_taking_turns_record_one_session_once(
    fake_store: Store, clock: ManualClock
) -> None:
    one, two = publisher(fake_store, clock), publisher(fake_store, clock)
    for step in range(12):
        pub = one if step % 2 else two  # leadership changes every round
        at = clock.ms()
        await pub.publish(item("A", progress=step * 5000, at=at), stale=False)
        clock.advance(5)
    await one.publish(item("B", progress=0, at=clock.ms()), stale=False)
    await two.publish(item("B", progress=5000, at=clock.ms() + 5000), stale=False)
    items, _ = await read_page(fake_store, limit=20, before=None, visible_until_ms=clock.ms())
    assert [s["name"] for s in items] == ["A"]
    assert items[0]["listenedMs"] == 60_000


async def test_the_history_is_capped_at_history_limit(
    fake_store: Store, clock: ManualClock
) -> None:
    pub = publisher(fake_store, clock, history_limit=3)
    for n in range(5):
        await pub.publish(item(f"S{n}", at=clock.ms()), stale=False)
        clock.advance(40)
    await pub.publish(None, stale=False)
    items, _ = await read_page(fake_store, limit=20, before=None, visible_until_ms=clock.ms())
    assert [s["name"] for s in items] == ["S4", "S3", "S2"]
    assert await fake_store.redis.hlen(f"{fake_store.keys.history}:items") == 3


async def test_delayed_versions_never_go_backwards_when_redis_comes_back_empty(
    fake_store: Store, clock: ManualClock
) -> None:
    pub = publisher(fake_store, clock, privacy_delay=30.0)
    await pub.publish(item("A", at=clock.ms()), stale=False)
    clock.advance(30)
    first = await pub.flush()
    assert first is not None and first["version"] == 1
    await fake_store.redis.flushall()
    await pub.publish(item("B", at=clock.ms()), stale=False)
    clock.advance(30)
    second = await pub.flush()
    assert second is not None and second["version"] == 2


def test_the_context_of_a_currently_playing_body() -> None:
    body = {"item": {"id": "t1"}, "context": {"uri": "spotify:playlist:abc"}}
    assert context_of(body) == ("t1", "spotify:playlist:abc")
    assert context_of({"item": None, "context": None}) == (None, None)
    assert context_of("garbage") == (None, None)


async def test_a_stray_204_keeps_the_context_of_the_held_item() -> None:
    answers = iter(
        [
            httpx.Response(
                200, json={"item": {"id": "t1"}, "context": {"uri": "spotify:playlist:abc"}}
            ),
            httpx.Response(204),
        ]
    )
    transport = httpx.MockTransport(lambda request: next(answers))
    async with httpx.AsyncClient(transport=transport) as http:
        client = WebApiClient(
            http=http, accounts_url="https://a.test", api_url="https://api.test", clock=time.time
        )
        await client.currently_playing("token")
        await client.currently_playing("token")
    assert client.context == ("t1", "spotify:playlist:abc")


async def test_a_new_process_keeps_the_live_song_for_show_while_hidden(
    fake_store: Store, clock: ManualClock
) -> None:
    await publisher(fake_store, clock).publish(item("A", at=clock.ms()), stale=False)
    await set_hidden(fake_store, True)
    restarted = publisher(fake_store, clock)
    await restarted.publish(None, stale=True, keep_song=True)  # e.g. the provider fails
    await set_hidden(fake_store, False)
    current = await fake_store.current()
    assert current is not None and current["song"] is not None
    assert current["song"]["name"] == "A"
