"""`GET /embed.svg`: the README card, rendered from the hub's document (web/svg.py)."""

from __future__ import annotations

import time

from starlette.requests import Request
from starlette.responses import Response

from web.art import ArtCache
from web.hub import Hub
from web.svg import render_card


class Card:
    def __init__(self, hub: Hub, art: ArtCache) -> None:
        self.hub = hub
        self.art = art

    async def embed_svg(self, request: Request) -> Response:
        theme = request.query_params.get("theme", "light")
        if theme not in ("light", "dark"):
            return Response("theme must be 'light' or 'dark'\n", 400, media_type="text/plain")
        hub = self.hub
        document = hub.document
        song = document["song"]
        art = await self.art.data_uri(song["albumImageUrl"] if song else None)
        svg = render_card(document, theme, art, int(time.time() * 1000))  # type: ignore[arg-type]
        headers = {"Cache-Control": "no-cache, max-age=0", "ETag": hub.etag}
        return Response(svg, media_type="image/svg+xml; charset=utf-8", headers=headers)
