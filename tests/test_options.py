"""The view options' grammar (web/options.py): pure, no mocks."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from web.options import NAMES, OptionError, ViewOptions, colour, parse_options


def test_no_options_are_the_defaults_with_the_views_theme() -> None:
    assert parse_options({}, default_theme="auto") == ViewOptions(theme="auto")


@pytest.mark.parametrize(
    ("given", "expected"),
    [("fff", "#fff"), ("#FFF", "#fff"), ("1A7F37", "#1a7f37"), ("#1a7f37", "#1a7f37")],
)
def test_a_colour_is_hex_with_or_without_a_hash(given: str, expected: str) -> None:
    assert colour(given) == expected


@pytest.mark.parametrize("given", ["ffff", "#12345", "red", "#ggg", "", "rgb(1,2,3)"])
def test_anything_else_is_not_a_colour(given: str) -> None:
    assert colour(given) is None


def test_every_option_is_read() -> None:
    options = parse_options(
        {
            "theme": "dark",
            "bg": "transparent",
            "accent": "ff0066",
            "size": "wide",
            "art": "hide",
            "idle": "Back soon",
            "hideAfter": "15",
            "clean": "on",
            "explicit": "hide",
        }
    )
    assert options == ViewOptions(
        theme="dark",
        bg="transparent",
        accent="#ff0066",
        size="wide",
        art=False,
        idle="Back soon",
        hide_after_s=15,
        clean=True,
        hide_explicit=True,
    )


def test_enumerated_values_ignore_case() -> None:
    assert parse_options({"theme": "Dark", "idle": "HIDE"}) == ViewOptions(
        theme="dark", idle="hide"
    )


def test_unknown_option_names_are_ignored() -> None:
    assert parse_options({"v": "2", "cachebust": "x"}) == ViewOptions()


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("theme", "neon"),
        ("bg", "blue"),
        ("accent", "transparent"),
        ("size", "huge"),
        ("art", "yes"),
        ("idle", ""),
        ("idle", "x" * 101),
        ("hideAfter", "0"),
        ("hideAfter", "-5"),
        ("hideAfter", "1.5"),
        ("hideAfter", "86401"),
        ("hideAfter", "١٢"),
        ("clean", "true"),
        ("explicit", "censor"),
    ],
)
def test_a_malformed_value_is_an_error_that_names_the_option(name: str, value: str) -> None:
    with pytest.raises(OptionError) as caught:
        parse_options({name: value})
    assert caught.value.reasons[0].startswith(f"{name} must be")


def test_every_malformed_option_is_reported_at_once() -> None:
    with pytest.raises(OptionError) as caught:
        parse_options({"theme": "neon", "size": "huge", "art": "show"})
    assert [r.split()[0] for r in caught.value.reasons] == ["theme", "size"]


def test_an_idle_message_with_control_characters_is_refused() -> None:
    with pytest.raises(OptionError):
        parse_options({"idle": "back\x00soon"})


@given(st.dictionaries(st.sampled_from([*NAMES, "v"]), st.text(max_size=60)))
def test_any_query_is_options_or_an_option_error(params: dict[str, str]) -> None:
    try:
        parse_options(params)
    except OptionError as exc:
        assert exc.reasons
