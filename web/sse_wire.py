"""The SSE wire format of `/api/stream`, one owner: the event frame, the retry field and
the keep-alive comment, each encoded once.

The event frame is sse-starlette's encoder (the project's SSE library). Documented
divergence: importing sse_starlette also wraps uvicorn's `Server.handle_exit` (to let its
own EventSourceResponse end streams on shutdown); the wrapper calls uvicorn's handler
first, and this app ends its streams itself (`Hub.close` in the lifespan), so nothing
here depends on it.
"""

from __future__ import annotations

from sse_starlette.event import ServerSentEvent

from shared.document import Document

EVENT = "now-playing"
RETRY_MS = 3000  # how soon a browser reconnects after a cut stream
RETRY_FRAME = b"retry: %d\n\n" % RETRY_MS
PING_FRAME = b": ping\n\n"  # a comment: proxies see traffic, EventSource ignores it


def event_frame(document: Document, raw: bytes) -> bytes:
    """One version as an SSE event: `event`, `id` (the version), `data` (the document)."""
    event = ServerSentEvent(data=raw.decode(), event=EVENT, id=str(document["version"]), sep="\n")
    return event.encode()
