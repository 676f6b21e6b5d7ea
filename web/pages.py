"""The static answers: the live card page and the embeddable script, read once."""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import Response

STATIC = Path(__file__).parent / "static"


class Pages:
    def __init__(self, static: Path = STATIC) -> None:
        self.index_html = (static / "index.html").read_bytes()
        self.widget_js = (static / "widget.js").read_bytes()

    async def index(self, request: Request) -> Response:
        headers = {"Cache-Control": "no-cache"}
        return Response(self.index_html, media_type="text/html; charset=utf-8", headers=headers)

    async def widget(self, request: Request) -> Response:
        headers = {"Cache-Control": "public, max-age=300"}
        return Response(
            self.widget_js, media_type="text/javascript; charset=utf-8", headers=headers
        )
