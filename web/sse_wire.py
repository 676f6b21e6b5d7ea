"""The SSE wire format of `/api/stream`, one owner: the event frame, the retry field and
the keep-alive comment, each encoded once.

The contract fixes the field order: `retry:`, then at once `event: now-playing`,
`id: <version>`, `data: <document>`. sse-starlette's encoder writes `id` before `event`,
so the frame is encoded here; the first frame of a stream is the retry field and the
event in one block (`first_frame`), so nothing, not even a blank line, comes between.
"""

from __future__ import annotations

from shared.document import Document

EVENT = "now-playing"
RETRY_MS = 3000  # how soon a browser reconnects after a cut stream
RETRY_FIELD = b"retry: %d\n" % RETRY_MS
RETRY_FRAME = RETRY_FIELD + b"\n"  # the retry field alone: nothing was missed
PING_FRAME = b": ping\n\n"  # a comment: proxies see traffic, EventSource ignores it


def event_frame(document: Document, raw: bytes) -> bytes:
    """One version as an SSE event: `event`, `id` (the version), `data` (the document)."""
    head = b"event: %s\nid: %d\n" % (EVENT.encode(), document["version"])
    data = b"".join(b"data: " + line + b"\n" for line in raw.splitlines() or [b""])
    return head + data + b"\n"


def first_frame(event: bytes | None) -> bytes:
    """What a stream starts with: the retry field, then at once the event (if one is due)."""
    return RETRY_FRAME if event is None else RETRY_FIELD + event
