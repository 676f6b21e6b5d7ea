"""The static answers: the embeddable script, read once (the card page `/` is web/home.py)."""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import Response

STATIC = Path(__file__).parent / "static"


class Pages:
    def __init__(self, static: Path = STATIC) -> None:
        self.widget_js = (static / "widget.js").read_bytes()

    async def widget(self, request: Request) -> Response:
        headers = {"Cache-Control": "public, max-age=300"}
        return Response(
            self.widget_js, media_type="text/javascript; charset=utf-8", headers=headers
        )
