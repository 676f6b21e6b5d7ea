"""Title cleaning ("Song - 2011 Remaster" -> "Song") and explicit masking. Pure.

widget.js carries a line-for-line twin (cleanTitle, maskTitle); both are tested against
tests/fixtures/titles.json, so a rule changes in both places or a test fails.

What must stay true: only a trailing segment (after a spaced hyphen or dash, or in final
brackets) made *entirely* of edition words is dropped, and only when it says remaster,
radio edit, single/album/mono/stereo version or bonus track. "Live", "Acoustic", "Remix",
"feat." and anything else keep the segment: they name another recording. A title is never
cleaned to nothing.
"""

from __future__ import annotations

import itertools
import re

from shared.document import Song
from web.options import ViewOptions

SEPARATORS = re.compile(r"\s+[-–—]\s+")
BRACKET_TAIL = re.compile(r"\s*[(\[]([^()\[\]]*)[)\]]\s*$")
WORD_SPLIT = re.compile(r"[\s/,;:.()\[\]&+-]+")
EDITION_WORDS = frozenset(
    [
        "remaster",
        "remastered",
        "remasters",
        "digital",
        "digitally",
        "version",
        "edition",
        "edit",
        "radio",
        "single",
        "album",
        "mono",
        "stereo",
        "bonus",
        "track",
        "anniversary",
        "deluxe",
        "expanded",
        "the",
        "in",
    ]
)
KEY_PAIRS = frozenset(
    {
        ("radio", "edit"),
        ("radio", "version"),
        ("single", "version"),
        ("single", "edit"),
        ("album", "version"),
        ("mono", "version"),
        ("stereo", "version"),
        ("bonus", "track"),
    }
)
WORD = re.compile(r"[^\W_]+")  # letters and digits, as JS /[\p{L}\p{N}]+/gu
YEAR_OR_ORDINAL = re.compile(r"^(\d{2}|\d{4}|\d{1,3}(st|nd|rd|th))$")


def is_edition(segment: str) -> bool:
    """True when `segment` names only a remaster or an edit of the same recording."""
    words = [w for w in WORD_SPLIT.split(segment.lower()) if w]
    if not words:
        return False
    if any(w not in EDITION_WORDS and not YEAR_OR_ORDINAL.match(w) for w in words):
        return False
    if any(w.startswith("remaster") for w in words):
        return True
    return any(pair in KEY_PAIRS for pair in itertools.pairwise(words))


def clean_title(title: str) -> str:
    """The title without trailing remaster/edit suffixes; the original if nothing is left."""
    current = title.strip()
    while True:
        bracket = BRACKET_TAIL.search(current)
        if bracket and is_edition(bracket.group(1)) and current[: bracket.start()].strip():
            current = current[: bracket.start()].rstrip()
            continue
        parts = SEPARATORS.split(current)
        if len(parts) > 1 and is_edition(parts[-1]):
            head = current[: current.rfind(parts[-1])]
            current = _drop_tail(head)
            continue
        return current or title


def _drop_tail(head: str) -> str:
    """`head` ends with the separator that preceded the dropped segment: remove it."""
    return re.sub(r"\s+[-–—]\s*$", "", head).rstrip()


def mask_title(title: str) -> str:
    """An explicit title masked: each word keeps its first letter ("F*** Y**")."""
    return WORD.sub(lambda m: m[0][0] + "*" * (len(m[0]) - 1), title)


def shown_title(song: Song, options: ViewOptions) -> str:
    """The title as a view shows it: cleaned with clean=on, masked with explicit=hide."""
    name = song["name"] or "Untitled"
    if options.clean:
        name = clean_title(name)
    if options.hide_explicit and song.get("explicit") is True:
        name = mask_title(name)
    return name
