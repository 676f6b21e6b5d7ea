"""Configuration of push ingest, Lanyard, the history and privacy: defaults, the rules
PRIVACY_HIDE accepts, and a bad value naming its variable."""

from __future__ import annotations

import pytest

from shared.config import ConfigError, HideRule, load_settings

TOKEN = "t" * 24


def test_the_new_variables_have_the_documented_defaults() -> None:
    s = load_settings({})
    assert (s.ingest_token, s.ingest_user, s.lanyard_user_id) == (None, "nowplaying", None)
    assert s.lanyard_api_url == "https://api.lanyard.rest"
    assert (s.history_limit, s.privacy_delay, s.privacy_hide) == (5000, 0.0, ())


def test_push_and_lanyard_are_configured_by_their_variables_in_the_default_order() -> None:
    s = load_settings({"INGEST_TOKEN": TOKEN, "LANYARD_USER_ID": "94490510688792576"})
    assert s.source_order == ("push", "lanyard")
    assert s.has_provider


def test_sources_may_name_push_and_lanyard_once_configured() -> None:
    env = {"INGEST_TOKEN": TOKEN, "LANYARD_USER_ID": "94490510688792576", "SOURCES": "lanyard,push"}
    assert load_settings(env).source_order == ("lanyard", "push")


def test_sources_naming_an_unconfigured_lanyard_says_what_it_needs() -> None:
    with pytest.raises(ConfigError, match="LANYARD_USER_ID") as caught:
        load_settings({"INGEST_TOKEN": TOKEN, "SOURCES": "push,lanyard"})
    assert caught.value.variable == "SOURCES"


def test_the_ingest_token_is_a_secret() -> None:
    assert TOKEN in load_settings({"INGEST_TOKEN": TOKEN}).secrets()
    assert TOKEN not in repr(load_settings({"INGEST_TOKEN": TOKEN}))


def test_privacy_hide_reads_every_rule_kind_casefolded() -> None:
    raw = "artist:Rick Astley, show:My Podcast,album:X,context:spotify:playlist:37i9,explicit"
    assert load_settings({"PRIVACY_HIDE": raw}).privacy_hide == (
        HideRule("artist", "rick astley"),
        HideRule("show", "my podcast"),
        HideRule("album", "x"),
        HideRule("context", "spotify:playlist:37i9"),
        HideRule("explicit"),
    )
