"""/configure: a public page that builds the embed snippets from the view options, with a
live preview of the card, the overlay and the history card.

The snippets are built in the page by one function (`npBuild` in the template), the same
one the browser test calls, so what the page offers is what the routes accept. The server
only fills in this instance's base URL and the default snippets (for a reader without
JavaScript).
"""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import Response
from starlette.templating import Jinja2Templates

from web.home import base_url

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))


async def configure(request: Request) -> Response:
    base = base_url(request)
    return TEMPLATES.TemplateResponse(
        request, "configure.html", {"base": base}, headers={"Cache-Control": "no-cache"}
    )
