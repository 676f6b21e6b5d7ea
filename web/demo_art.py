"""The demo's album art, served by the web app itself on a same-origin path.

The demo player's image URLs are paths (`/demo-art/<id>-<size>.png`), so they work
whatever address the instance is reached at (HOST=0.0.0.0, compose, a proxy), and the
simulated Spotify needs no public mount: nothing of it is reachable from the web port.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from shared.simulator.art import catalog_png
from shared.simulator.player import ART_COLORS

PATH = "/demo-art"


def lookup(path: str) -> tuple[bytes, str] | None:
    """The PNG behind a same-origin demo art path, for the SVG card's data URI."""
    if not path.startswith(PATH + "/"):
        return None
    png = catalog_png(path[len(PATH) + 1 :], ART_COLORS)
    return (png, "image/png") if png is not None else None


async def _serve(request: Request) -> Response:
    png = catalog_png(request.path_params["name"], ART_COLORS)
    if png is None:
        return Response("not found", 404, media_type="text/plain")
    headers = {"Cache-Control": "public, max-age=86400"}
    return Response(png, media_type="image/png", headers=headers)


def route() -> Route:
    return Route(PATH + "/{name}", _serve, methods=["GET", "HEAD"])
