"""PRIVACY_HIDE: whether an item must be kept off every public answer. Pure.

Names compare casefolded and exact (the rules are casefolded by shared/config.py).
`show:` matches an episode's show (the document's `album` of an episode), `album:` a
track's album, `artist:` any of `artists`, `explicit` an item Spotify flags explicit, and
`context:` the Spotify context (playlist, album, show URI) it is played from, which the
document does not carry: the caller passes the context of the item, when it knows one.
"""

from __future__ import annotations

from collections.abc import Iterable

from shared.config import HideRule
from shared.document import Song


def is_hidden(song: Song | None, rules: Iterable[HideRule], context: str | None = None) -> bool:
    if song is None:
        return False
    for rule in rules:
        if rule.kind == "explicit" and song.get("explicit") is True:
            return True
        if rule.kind == "artist" and any(a.casefold() == rule.value for a in song["artists"]):
            return True
        if rule.kind == "album" and song["type"] == "track" and _same(song["album"], rule.value):
            return True
        if rule.kind == "show" and song["type"] == "episode" and _same(song["album"], rule.value):
            return True
        if rule.kind == "context" and context is not None and _same(context, rule.value):
            return True
    return False


def _same(value: str, rule_value: str) -> bool:
    return value.strip().casefold() == rule_value
