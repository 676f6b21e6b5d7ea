"""The provider registry is the one list of providers: the document's type, the
configuration, the widget's own table and the art policy all agree with it."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import get_args

from shared import providers
from shared.config import PROVIDERS as CONFIGURABLE
from shared.document import Provider
from web.art_policy import ArtPolicy

WIDGET = Path(__file__).resolve().parent.parent / "web" / "static" / "widget.js"


def widget_table() -> dict[str, list[object]]:
    """The `var PROVIDERS = {...}` object literal of widget.js, read as JSON."""
    found = re.search(r"var PROVIDERS = (\{.*?\});", WIDGET.read_text(), re.S)
    assert found is not None, "widget.js has no PROVIDERS table"
    literal = re.sub(r"(\w+):", r'"\1":', found.group(1))
    table: dict[str, list[object]] = json.loads(literal)
    return table


def test_every_provider_of_the_document_has_a_registry_row() -> None:
    assert set(get_args(Provider)) <= set(providers.BY_NAME)
    assert set(providers.BY_NAME) <= set(get_args(Provider))


def test_every_registered_provider_can_be_configured() -> None:
    assert set(providers.BY_NAME) <= set(CONFIGURABLE)


def test_the_widget_labels_and_pauses_exactly_as_the_registry_says() -> None:
    expected = {p.name: [p.label, p.knows_pause] for p in providers.PROVIDERS}
    assert widget_table() == expected


def test_a_provider_without_pause_is_shown_as_last_played_not_paused() -> None:
    assert providers.knows_pause("spotify") and not providers.knows_pause("lastfm")
    assert providers.knows_pause(None)  # a document from before `provider`: Spotify's


def test_the_art_policy_accepts_each_providers_image_hosts() -> None:
    policy = ArtPolicy()
    assert policy.allows("https://i.scdn.co/image/ab67616d0000b273")
    assert policy.allows("https://lastfm.freetls.fastly.net/i/u/300x300/x.png")
    assert policy.allows("https://coverartarchive.org/release/x/front-250")
    assert not policy.allows("https://evil.example/i.scdn.co.png")
