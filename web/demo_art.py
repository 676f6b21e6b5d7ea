"""The demo's album art, served by the web app itself on a same-origin path.

The demo player's image URLs are paths (`/demo-art/<id>-<size>.png`), so they work
whatever address the instance is reached at (HOST=0.0.0.0, compose, a proxy), and the
simulated Spotify needs no public mount: nothing of it is reachable from the web port.
The pictures are drawn by the simulator; the composition root hands in the function
that draws them, so the web app never imports the simulator.
"""

from __future__ import annotations

from collections.abc import Callable

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

PATH = "/demo-art"
Draw = Callable[[str], bytes | None]  # an art name (`<id>-<size>.png`) -> PNG, or None


class DemoArt:
    def __init__(self, draw: Draw) -> None:
        self.draw = draw

    def lookup(self, path: str) -> tuple[bytes, str] | None:
        """The PNG behind a same-origin demo art path, for the SVG card's data URI."""
        if not path.startswith(PATH + "/"):
            return None
        png = self.draw(path[len(PATH) + 1 :])
        return (png, "image/png") if png is not None else None

    async def _serve(self, request: Request) -> Response:
        png = self.draw(request.path_params["name"])
        if png is None:
            return Response("not found", 404, media_type="text/plain")
        headers = {"Cache-Control": "public, max-age=86400"}
        return Response(png, media_type="image/png", headers=headers)

    def route(self) -> Route:
        return Route(PATH + "/{name}", self._serve, methods=["GET", "HEAD"])
