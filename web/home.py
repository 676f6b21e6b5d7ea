"""`/`: the live card page, with the link-preview meta of the current item and, on a
first run (nothing configured), a note that sends the owner to /admin.

The page itself is web/static/index.html, read once; only its head and one note are
filled in per request (the meta carry the current title and an absolute og:image URL).
"""

from __future__ import annotations

import html
from pathlib import Path

from starlette.requests import Request
from starlette.responses import Response

from shared.config import Settings
from web.hub import Hub
from web.og import meta_tags

STATIC = Path(__file__).parent / "static"
HEAD_MARK = "<title>"
BODY_MARK = '<div data-nowplaying id="card"></div>'


def first_run_note(admin_enabled: bool) -> str:
    where = (
        '<a href="/admin">/admin</a>'
        if admin_enabled
        else "<code>/admin</code> (set <code>ADMIN_TOKEN</code> first: it unlocks the page)"
    )
    return (
        '<p id="first-run" role="status" style="border:1px solid var(--line);'
        'border-radius:8px;padding:10px 12px">'
        "<strong>Nothing is configured yet.</strong> This card is the built-in demo player. "
        f"Owner: open {where} to connect your Spotify, Last.fm or ListenBrainz account.</p>\n    "
    )


def base_url(request: Request) -> str:
    """scheme://host of this request, as the client (or a trusted proxy) named it."""
    return f"{request.url.scheme}://{request.url.netloc}"


class HomePage:
    def __init__(self, settings: Settings, hub: Hub, static: Path = STATIC) -> None:
        self.settings, self.hub = settings, hub
        text = (static / "index.html").read_text()
        self.head, _, rest = text.partition(HEAD_MARK)
        self.middle, _, self.tail = (HEAD_MARK + rest).partition(BODY_MARK)

    @property
    def first_run(self) -> bool:
        return not self.settings.configured_providers

    async def index(self, request: Request) -> Response:
        meta = meta_tags(self.hub.document, html.escape(base_url(request), quote=True))
        note = first_run_note(bool(self.settings.admin_token)) if self.first_run else ""
        body = self.head + meta + self.middle + note + BODY_MARK + self.tail
        headers = {"Cache-Control": "no-cache"}
        return Response(body, media_type="text/html; charset=utf-8", headers=headers)
