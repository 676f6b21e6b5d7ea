"""The SVG card renderer (web/svg.py): pure, the clock passed in."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from shared.document import Document
from tests.webutil import document
from web.options import ViewOptions, parse_options
from web.svg import pick_image, render_card

AT = 1_763_900_000_000  # the songs' progressAt; progressMs 61,234 of 213,573
DURATION, POSITION = 213_573, 61_234


def doc(**song: Any) -> Document:
    value = document(7)
    assert value["song"] is not None
    value["updatedAt"] = AT
    value["song"].update(song)  # type: ignore[typeddict-item]
    return value


def card(value: Document, now: int = AT + 10_000, image: str | None = None, **opts: str) -> str:
    return render_card(value, parse_options(opts), image, now)


def texts(svg: str) -> list[str]:
    root = ET.fromstring(svg)
    return [t.text or "" for t in root.iter("{http://www.w3.org/2000/svg}text")]


def test_a_playing_card_animates_the_bar_over_the_track_from_its_position_now() -> None:
    svg = card(doc(), now=AT + 10_000)
    assert f"animation:np-bar {DURATION}ms linear -{POSITION + 10_000}ms both" in svg


def test_a_playing_card_swaps_its_label_when_the_track_should_end() -> None:
    svg = card(doc(), now=AT + 10_000)
    remaining = DURATION - POSITION - 10_000
    assert f".end{{animation:np-on 0s {remaining}ms both}}" in svg
    assert "Now playing" in texts(svg) and "Played just now" in texts(svg)


def test_reduced_motion_stops_the_bar() -> None:
    assert "@media (prefers-reduced-motion:reduce){.bar{animation:none}}" in card(doc())


def test_the_bar_starts_at_the_position_at_render_without_animation() -> None:
    share = (POSITION + 10_000) / DURATION
    assert f"transform:scaleX({share:.4f})" in card(doc(), now=AT + 10_000)


def test_a_paused_card_does_not_tick() -> None:
    svg = card(doc(isPlaying=False))
    assert "Paused" in texts(svg) and "np-bar" not in svg and "np-on" not in svg
    assert f"transform:scaleX({POSITION / DURATION:.4f})" in svg


def test_a_recent_item_has_no_bar_and_says_last_played() -> None:
    svg = card(doc(source="recent", isPlaying=False, playedAt="2025-11-23T12:09:00Z"))
    assert 'class="a bar"' not in svg
    assert any(t.startswith("Last played · ") for t in texts(svg))


def test_a_scrobble_without_duration_has_no_bar() -> None:
    svg = card(doc(provider="lastfm", durationMs=None, progressMs=None, progressAt=None))
    assert 'class="a bar"' not in svg and "np-bar" not in svg
    assert "Now playing" in texts(svg)


def test_a_scrobble_that_is_not_playing_never_says_paused() -> None:
    svg = card(doc(provider="listenbrainz", isPlaying=False))
    assert "Paused" not in svg and "Last played" in texts(svg)


def test_the_provider_is_named_in_the_corner() -> None:
    assert "Last.fm" in texts(card(doc(provider="lastfm")))


def test_a_stale_card_says_last_seen_and_does_not_tick() -> None:
    value = doc() | {"stale": True}
    svg = card(value, now=AT + 5 * 60_000)  # type: ignore[arg-type]
    assert "Now playing · last seen 5 min ago" in texts(svg)
    assert "np-bar" not in svg and "np-on" not in svg


def test_a_quota_pause_is_said_in_utc_and_wins_over_last_seen() -> None:
    paused_until = 1_763_927_580_000  # 2025-11-23T19:53:00Z
    value = doc() | {"stale": True, "pausedUntil": paused_until}
    svg = card(value, now=AT + 5 * 60_000)  # type: ignore[arg-type]
    assert "Spotify paused updates until 19:53 UTC" in texts(svg)
    assert "last seen" not in svg and "np-bar" not in svg


def test_a_track_past_its_end_at_render_says_played_just_now() -> None:
    svg = card(doc(), now=AT + DURATION)
    assert "Played just now" in texts(svg) and "Now playing" not in svg
    assert "np-bar" not in svg


def test_theme_auto_follows_the_viewers_colour_scheme() -> None:
    svg = card(doc(), theme="auto")
    assert "@media (prefers-color-scheme:dark){.bg{fill:#0d1117" in svg


def test_a_transparent_background_has_no_fill_and_no_border() -> None:
    assert ".bg{fill:none;stroke:none}" in card(doc(), bg="transparent")


def test_background_and_accent_colours_are_applied() -> None:
    svg = card(doc(), bg="123", accent="#ff0066")
    assert ".bg{fill:#123}" in svg and ".a{fill:#ff0066}" in svg


def test_sizes_change_the_dimensions() -> None:
    widths = {s: ET.fromstring(card(doc(), size=s)).get("width") for s in ("compact", "wide")}
    assert widths == {"compact": "340", "wide": "640"}


def test_art_hide_drops_the_art_and_its_placeholder() -> None:
    svg = card(doc(), image="data:image/png;base64,AAAA", art="hide")
    assert "<image" not in svg and "♪" not in svg


def test_art_is_inlined_as_given() -> None:
    svg = card(doc(), image="data:image/jpeg;base64,AAAA")
    assert 'href="data:image/jpeg;base64,AAAA"' in svg


def test_art_too_large_for_64_kb_is_left_out() -> None:
    svg = card(doc(), image="data:image/jpeg;base64," + "A" * 70_000)
    assert "<image" not in svg and len(svg.encode()) < 64 * 1024


def test_a_card_with_300_px_art_stays_under_64_kb() -> None:
    art = "data:image/jpeg;base64," + "A" * 54_000  # about a 40 KB JPEG
    svg = card(doc(name="N" * 500, artists=["A" * 500], album="B" * 500), image=art)
    assert "<image" in svg and len(svg.encode()) < 64 * 1024


def test_the_image_closest_to_300_px_is_chosen() -> None:
    images = [
        {"url": "https://i.scdn.co/640", "width": 640, "height": 640},
        {"url": "https://i.scdn.co/300", "width": 300, "height": 300},
        {"url": "https://i.scdn.co/64", "width": 64, "height": 64},
    ]
    assert pick_image(doc(images=images)["song"]) == "https://i.scdn.co/300"


def test_without_sizes_the_album_image_is_chosen() -> None:
    song = doc(images=[], albumImageUrl="https://i.scdn.co/x")["song"]
    assert pick_image(song) == "https://i.scdn.co/x"


def test_the_card_refers_to_nothing_outside_itself() -> None:
    for value in (doc(), doc(isPlaying=False), document(1, song=None)):
        svg = card(value, image="data:image/png;base64,AAAA", theme="auto", hideAfter="60")
        refs = re.findall(r"(?:href|src)\s*=\s*\"([^\"]*)\"|url\(([^)]*)\)", svg)
        assert all((a or b).startswith("data:") for a, b in refs), (
            refs
        )  # only data: URIs, no url(#id) either


def test_xml_invalid_characters_in_names_keep_the_card_well_formed() -> None:
    svg = card(doc(name="a\x01b\x08c\ufffe", artists=["\x0b"]))
    ET.fromstring(svg)


def test_idle_hide_with_nothing_playing_is_an_empty_card() -> None:
    svg = card(doc(isPlaying=False), idle="hide")
    assert texts(svg) == [] and ET.fromstring(svg).get("width") == "480"


def test_idle_hide_fades_a_playing_card_out_at_the_predicted_end() -> None:
    remaining = DURATION - POSITION - 10_000
    assert f".card{{animation:np-out .6s ease {remaining}ms both}}" in card(doc(), idle="hide")


def test_an_idle_message_replaces_the_card_when_nothing_plays() -> None:
    svg = card(document(1, song=None), idle="Back after the break")
    assert texts(svg) == ["Back after the break"]


def test_an_idle_message_does_not_replace_a_playing_card() -> None:
    assert "Now playing" in texts(card(doc(), idle="Back after the break"))


def test_hide_after_fades_the_card_that_many_seconds_after_the_change() -> None:
    svg = card(doc(), now=AT + 10_000, hideAfter="30")
    assert ".card{animation:np-out .6s ease 20000ms both}" in svg


def test_hide_after_past_is_an_empty_card() -> None:
    assert texts(card(doc(), now=AT + 31_000, hideAfter="30")) == []


def test_clean_strips_a_remaster_suffix() -> None:
    svg = card(doc(name="Heroes - 2017 Remaster"), clean="on")
    assert "Heroes" in texts(svg) and "Remaster" not in svg


def test_explicit_hide_masks_an_explicit_title() -> None:
    svg = card(doc(name="Fuck You", explicit=True), explicit="hide")
    assert "F*** Y**" in texts(svg) and "Fuck" not in svg


def test_explicit_hide_leaves_a_clean_title() -> None:
    assert "Fuck You" in texts(card(doc(name="Fuck You", explicit=False), explicit="hide"))


def test_the_default_options_render_the_light_theme() -> None:
    assert render_card(doc(), ViewOptions(), None, AT).count("#ffffff") == 1


def test_a_playing_item_without_a_receive_time_stands_still_and_says_now_playing() -> None:
    svg = card(doc(progressAt=None))
    assert "Now playing" in texts(svg) and "np-bar" not in svg and "Played" not in svg


@given(
    st.text(max_size=60),
    st.sampled_from(["compact", "normal", "wide"]),
    st.sampled_from(["show", "hide", 'Back <soon> & "then"']),
    st.booleans(),
)
def test_any_name_in_any_look_is_well_formed_xml(
    name: str, size: str, idle: str, playing: bool
) -> None:
    svg = card(doc(name=name, isPlaying=playing), size=size, idle=idle, clean="on")
    ET.fromstring(svg)
