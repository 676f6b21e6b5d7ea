"""Configuration of Last.fm, ListenBrainz and SOURCES: every refusal names its variable."""

from __future__ import annotations

import pytest

from shared.config import ConfigError, load_settings

SPOTIFY = {"SPOTIFY_CLIENT_ID": "id", "SPOTIFY_CLIENT_SECRET": "secret"}
LASTFM = {"LASTFM_API_KEY": "k" * 32, "LASTFM_USER": "rj"}
LB = {"LISTENBRAINZ_USER": "rob"}


def refused(env: dict[str, str]) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        load_settings(env)
    return caught.value


def test_lastfm_key_without_user_names_lastfm_user() -> None:
    assert refused({"LASTFM_API_KEY": "k"}).variable == "LASTFM_USER"


def test_lastfm_user_without_key_names_lastfm_api_key() -> None:
    assert refused({"LASTFM_USER": "rj"}).variable == "LASTFM_API_KEY"


def test_listenbrainz_token_without_user_names_listenbrainz_user() -> None:
    assert refused({"LISTENBRAINZ_TOKEN": "t"}).variable == "LISTENBRAINZ_USER"


def test_a_user_name_with_a_control_character_is_refused() -> None:
    assert refused({"LISTENBRAINZ_USER": "a\x07b"}).variable == "LISTENBRAINZ_USER"


def test_a_user_name_with_a_space_is_accepted() -> None:
    assert load_settings({"LISTENBRAINZ_USER": "Some User"}).listenbrainz_user == "Some User"


def test_a_lastfm_url_with_an_unknown_scheme_is_refused() -> None:
    assert refused(LASTFM | {"LASTFM_API_URL": "ftp://x"}).variable == "LASTFM_API_URL"


def test_default_order_is_every_configured_provider_spotify_first() -> None:
    assert load_settings(LB | LASTFM | SPOTIFY).source_order == (
        "spotify",
        "lastfm",
        "listenbrainz",
    )


def test_default_order_leaves_out_what_is_not_configured() -> None:
    assert load_settings(LB).source_order == ("listenbrainz",)


def test_sources_sets_the_preference_order() -> None:
    env = LB | LASTFM | SPOTIFY | {"SOURCES": "lastfm, spotify"}
    assert load_settings(env).source_order == ("lastfm", "spotify")


def test_an_unknown_source_is_refused() -> None:
    error = refused(LASTFM | {"SOURCES": "lastfm,deezer"})
    assert error.variable == "SOURCES" and "deezer" in error.problem


def test_an_unconfigured_source_is_refused_with_what_it_needs() -> None:
    error = refused(LASTFM | {"SOURCES": "listenbrainz"})
    assert error.variable == "SOURCES" and "LISTENBRAINZ_USER" in error.problem


def test_a_source_named_twice_is_refused() -> None:
    assert refused(LASTFM | {"SOURCES": "lastfm,lastfm"}).variable == "SOURCES"


def test_the_api_key_and_token_are_secrets() -> None:
    settings = load_settings(LASTFM | LB | {"LISTENBRAINZ_TOKEN": "tok-123"})
    assert {"k" * 32, "tok-123"} <= set(settings.secrets())


def test_the_api_key_is_not_in_the_settings_repr() -> None:
    assert "k" * 32 not in repr(load_settings(LASTFM))


def test_lastfm_alone_is_a_provider_so_no_demo() -> None:
    assert load_settings(LASTFM).has_provider


def test_listenbrainz_alone_is_a_provider_so_no_demo() -> None:
    assert load_settings(LB).has_provider


def test_nothing_configured_means_the_demo() -> None:
    assert not load_settings({}).has_provider


def test_the_spotify_app_without_a_refresh_token_is_a_provider_so_no_demo() -> None:
    """Its refresh token may already be stored in Redis; a demo would overwrite it."""
    assert load_settings(SPOTIFY).has_provider
