"""The view routes: /embed.svg, /overlay, /now.txt and /open.

/now.txt and /open are answered from memory as plain ASGI endpoints (no Response object
per request), with what each version needs prepared once per version.
/embed.svg is rendered per request on purpose: its animation offsets come from the clock.

`fresh` is the one-shot reads' hook for the poller's wake-on-read:
before answering they await it; it defaults to answering at once (`Views.use_fresh`).
"""

from __future__ import annotations

import string
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route
from starlette.types import Receive, Scope, Send

from shared import providers
from shared.document import Document
from web.art import ArtCache
from web.cors import Cors, Header
from web.hub import Hub
from web.metrics import Metrics
from web.options import OptionError, ViewOptions, parse_options
from web.svg import pick_image, render_card
from web.titles import shown_title

Fresh = Callable[[], Awaitable[None]]
STATIC = Path(__file__).parent / "static"
FIELDS = ("name", "artists", "album", "url", "status")
DEFAULT_FMT = "{status}: {name} – {artists}"
NOTHING = "Nothing playing right now"
MAX_FMT = 300
MAX_TEMPLATES = 64
PLAIN = ViewOptions()


async def answer_now() -> None:
    """The default `fresh`: no poller to wake, answer with what the hub holds."""


class Template:
    """A parsed `?fmt=`: literal text and field names. ValueError names what is wrong."""

    def __init__(self, fmt: str) -> None:
        if len(fmt) > MAX_FMT:
            raise ValueError(f"fmt: at most {MAX_FMT} characters")
        try:
            parsed = list(string.Formatter().parse(" ".join(fmt.splitlines())))
        except ValueError as exc:
            raise ValueError(f"fmt: {exc} (write {{{{ and }}}} for braces)") from None
        self.parts: list[tuple[str, str | None]] = []
        for literal, field, spec, conversion in parsed:
            if field is not None and (field not in FIELDS or spec or conversion):
                known = " ".join(f"{{{f}}}" for f in FIELDS)
                raise ValueError(f"fmt: unknown field {{{field}}}; use {known}")
            self.parts.append((literal, field))

    def render(self, values: dict[str, str]) -> str:
        return "".join(literal + (values[field] if field else "") for literal, field in self.parts)


def text_status(document: Document) -> str:
    """{status}: a word that does not depend on the clock, so a line is one per version."""
    song = document["song"]
    if song is None:
        return "Nothing playing"
    if song["source"] == "recent" or not song["isPlaying"]:
        pausable = providers.knows_pause(song.get("provider"))
        return "Last played" if song["source"] == "recent" or not pausable else "Paused"
    return "Now playing"


def text_fields(document: Document, options: ViewOptions) -> dict[str, str] | None:
    song = document["song"]
    if song is None:
        return None
    values = {
        "name": shown_title(song, options),
        "artists": ", ".join(song["artists"]),
        "album": song["album"] or "",
        "url": item_url(document) or "",
        "status": text_status(document),
    }
    return {k: " ".join(v.split()) for k, v in values.items()}


def now_line(document: Document, template: Template, options: ViewOptions = PLAIN) -> str:
    """One line for a chat bot; a clear sentence when nothing is known. While something
    plays, fields it lacks are empty: `fmt={url}` for an item without a page is an empty
    line, never "Nothing playing right now", which would be false."""
    values = text_fields(document, options)
    if values is None:
        return NOTHING
    return " ".join(template.render(values).split())


def item_url(document: Document) -> str | None:
    """The item's page: its provider's `url`, else its Spotify URL; only https."""
    song = document["song"]
    if song is None:
        return None
    for url in (song.get("url"), song["spotifyUrl"]):
        if isinstance(url, str) and url.startswith("https://") and url.isprintable():
            return url
    return None


def _query(query: bytes) -> dict[str, str]:
    return dict(parse_qsl(query.decode("utf-8", "replace"), keep_blank_values=True))


async def _plain(send: Send, status: int, body: bytes, headers: list[Header]) -> None:
    start = [(b"content-type", b"text/plain; charset=utf-8"), *headers]
    start.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": status, "headers": start})
    await send({"type": "http.response.body", "body": body})


class NowTxtEndpoint:
    """`GET /now.txt[?fmt=]`: one line of text, rendered once per version and template."""

    PATH = "/now.txt"

    def __init__(self, hub: Hub, fresh: Fresh) -> None:
        self.hub, self.fresh = hub, fresh
        self.templates: dict[str, Template] = {"": Template(DEFAULT_FMT)}
        self.lines: dict[bytes, tuple[bytes, list[Header]]] = {}  # by raw query string
        self.document: Document | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["method"] not in ("GET", "HEAD"):
            await _plain(send, 405, b"method not allowed\n", [(b"allow", b"GET, HEAD")])
            return
        await self.fresh()  # wake-on-read: one-shot views ask for a fresh document
        try:
            body, headers = self.line(scope["query_string"])
        except ValueError as exc:
            await _plain(send, 400, f"{exc}\n".encode(), [(b"cache-control", b"no-store")])
            return
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send(
            {"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else body}
        )

    def line(self, query: bytes) -> tuple[bytes, list[Header]]:
        """The encoded line and its headers for the hub's document and this query string
        (`fmt`, and the view options `clean` and `explicit`); bounded caches."""
        if self.document is not self.hub.document:  # the hub swaps the object per change
            self.lines.clear()
            self.document = self.hub.document
        cached = self.lines.get(query)
        if cached is not None:
            return cached
        params = _query(query)
        fmt = params.get("fmt", "")
        options = parse_options({k: v for k, v in params.items() if k in ("clean", "explicit")})
        template = self.templates.get(fmt)
        if template is None:
            template = Template(fmt)
            if len(self.templates) >= MAX_TEMPLATES:
                self.templates.clear()
                self.templates[""] = Template(DEFAULT_FMT)
            self.templates[fmt] = template
        body = now_line(self.hub.document, template, options).encode()
        headers = [
            (b"content-type", b"text/plain; charset=utf-8"),
            (b"content-length", str(len(body)).encode()),
            (b"cache-control", b"no-cache"),
        ]
        if len(self.lines) < MAX_TEMPLATES:
            self.lines[query] = (body, headers)
        return body, headers


class OpenEndpoint:
    """`GET /open`: 302 to the current item's page, else to this instance's `/`."""

    PATH = "/open"

    def __init__(self, hub: Hub, fresh: Fresh) -> None:
        self.hub, self.fresh = hub, fresh
        self.document: Document | None = None
        self.headers: list[Header] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["method"] not in ("GET", "HEAD"):
            await _plain(send, 405, b"method not allowed\n", [(b"allow", b"GET, HEAD")])
            return
        await self.fresh()  # wake-on-read: one-shot views ask for a fresh document
        if self.document is not self.hub.document:
            # Relative "/" when nothing is known: never built from the Host header.
            location = item_url(self.hub.document) or "/"
            self.headers = [
                (b"location", location.encode("utf-8")),
                (b"cache-control", b"no-cache"),
                (b"content-length", b"0"),
            ]
            self.document = self.hub.document
        await send({"type": "http.response.start", "status": 302, "headers": self.headers})
        await send({"type": "http.response.body", "body": b""})


class Views:
    """The view routes of one web process, bound to its hub."""

    def __init__(self, hub: Hub, metrics: Metrics, cors: Cors, art: ArtCache) -> None:
        self.hub, self.art = hub, art
        self.fresh: Fresh = answer_now
        self.now_txt = NowTxtEndpoint(hub, answer_now)
        self.open = OpenEndpoint(hub, answer_now)
        self.overlay_html = (STATIC / "overlay.html").read_bytes()

    def use_fresh(self, fresh: Fresh) -> None:
        """Install the wake-on-read: every one-shot view awaits it."""
        self.fresh = self.now_txt.fresh = self.open.fresh = fresh

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/embed.svg", self.embed_svg),
            Route("/overlay", self.overlay),
            Route(NowTxtEndpoint.PATH, self.now_txt),
            Route(OpenEndpoint.PATH, self.open),
        ]

    async def embed_svg(self, request: Request) -> Response:
        try:
            options = parse_options(request.query_params, default_theme="light")
        except OptionError as exc:
            return Response(f"{exc}\n", 400, media_type="text/plain; charset=utf-8")
        await self.fresh()  # wake-on-read: one-shot views ask for a fresh document
        document = self.hub.document
        art = await self.art.data_uri(pick_image(document["song"])) if options.art else None
        svg = render_card(document, options, art, int(time.time() * 1000))
        # No ETag, no validator: every answer carries offsets computed now.
        headers = {"Cache-Control": "no-cache, max-age=0"}
        return Response(svg, media_type="image/svg+xml", headers=headers)

    async def overlay(self, request: Request) -> Response:
        """Options are read by the page itself from its own query string."""
        headers = {"Cache-Control": "no-cache"}
        return Response(self.overlay_html, media_type="text/html; charset=utf-8", headers=headers)
