"""Why the poller is woken: the messages of the wake channel (`P:wake`), one owner.

The web app publishes them, the poller acts on them; a StrEnum so that the wire form is
the plain word and an unknown word from another version is simply not acted on.
"""

from __future__ import annotations

from enum import StrEnum


class Wake(StrEnum):
    VIEW = "view"  # a one-shot view found the document older than its freshness window
    STREAM = "stream"  # a stream opened: poll no later than a watched poller would
    PUSH = "push"  # the ingest routes stored a pushed item: read it at once
    PRIVACY = "privacy"  # the privacy switch moved: publish at once
