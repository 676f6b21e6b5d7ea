"""`GET /api/history` and `GET /history.svg`: the play sessions the poller recorded
(shared/history.py), read from Redis per request (a page is small; the hub holds only
the live document). PRIVACY_DELAY applies here too: a session is shown once it ended at
least that long ago, its times moved by the delay (the public timeline, as the delayed
document's); while the privacy switch is on, nothing that ended since it was turned on.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from shared.config import Settings
from shared.history import PAGE_MAX, Session, parse_cursor, read_page
from shared.privacy_switch import hidden_since
from shared.store import Store
from web.art import ArtCache
from web.history_svg import collapse, render_history
from web.hot import etag_matches
from web.options import OptionError, parse_options
from web.titles import mask_title

API_PATH = "/api/history"
SVG_PATH = "/history.svg"
API_DEFAULT, SVG_DEFAULT, SVG_MAX = 20, 5, 10
SVG_OPTIONS = ("theme", "bg", "accent", "size", "art")
CACHE_S = 1.0  # a page read from Redis serves this long, or until the hub's next version
CACHE_ENTRIES = 256
Page = tuple[list[Session], int | None]
ART_TOTAL = 320_000  # characters of data URIs in one card (5 of Spotify's 300 px fit)


def parse_limit(value: str | None, default: int, most: int) -> int:
    """`?limit=`: a whole number from 1 to `most`; ValueError names it."""
    if value is None:
        return default
    text = value.strip()
    if not text.isascii() or not text.isdigit() or not 1 <= int(text) <= most:
        raise ValueError(f"limit must be a whole number from 1 to {most} (got {value[:20]!r})")
    return int(text)


def public_session(session: Session, *, hide_explicit: bool = False) -> dict[str, object]:
    """A session as /api/history lists it: the contract's fields (the stored `explicit`
    flag stays inside), the title masked under `?explicit=hide` when it is explicit (the
    widget's data-explicit="hide", so its list does not show what its card masks)."""
    shown: dict[str, object] = {k: v for k, v in session.items() if k != "explicit"}
    if hide_explicit and session.get("explicit") is True:
        shown["name"] = mask_title(session["name"])
    return shown


def _bad(message: str) -> Response:
    headers = {"Cache-Control": "no-store"}
    return Response(f"{message}\n", 400, media_type="text/plain; charset=utf-8", headers=headers)


class HistoryViews:
    def __init__(
        self,
        settings: Settings,
        store: Store,
        art: ArtCache,
        clock: Callable[[], float] = time.time,
        version: Callable[[], int] = lambda: 0,
    ) -> None:
        self.store, self.art, self.clock, self.version = store, art, clock, version
        self.delay_ms = int(settings.privacy_delay * 1000)
        # (limit, before) -> (read at, hub version, page). A session ends when the next
        # document is published, so a new version is when a page may have changed; the
        # short lifetime covers PRIVACY_DELAY's line and a second web process's lag.
        self.pages: dict[tuple[int, int | None], tuple[float, int, Page]] = {}

    def routes(self) -> list[BaseRoute]:
        return [Route(API_PATH, self.api), Route(SVG_PATH, self.svg)]

    async def visible_until(self) -> int:
        """Sessions that ended up to this moment may be shown: PRIVACY_DELAY ago, and while
        the privacy switch is on, not after the moment it was turned on (less the delay):
        the session it closed, which the card may not have shown yet, stays off too."""
        until = int(self.clock() * 1000) - self.delay_ms
        since = await hidden_since(self.store)
        return until if since is None else min(until, since - self.delay_ms - 1)

    async def page(self, limit: int, before: int | None) -> Page:
        """A page of the history, from Redis at most once per CACHE_S and version."""
        now, version = self.clock(), self.version()
        cached = self.pages.get((limit, before))
        if cached is not None and cached[1] == version and now - cached[0] < CACHE_S:
            return cached[2]
        live_before = None if before is None else before - self.delay_ms
        sessions, cursor = await read_page(
            self.store, limit=limit, before=live_before, visible_until_ms=await self.visible_until()
        )
        page = self._delayed(sessions, cursor)
        if len(self.pages) >= CACHE_ENTRIES:
            self.pages.clear()
        self.pages[(limit, before)] = (now, version, page)
        return page

    def _delayed(self, sessions: list[Session], cursor: int | None) -> Page:
        """A page on the public timeline: under PRIVACY_DELAY every time moved by the delay,
        as the delay line moves the document's `updatedAt` and `progressAt` (the cursor too:
        `?before=` takes it back)."""
        d = self.delay_ms
        if d == 0:
            return sessions, cursor
        moved = [
            s | {"startedAt": s["startedAt"] + d, "endedAt": s["endedAt"] + d} for s in sessions
        ]
        return moved, None if cursor is None else cursor + d

    async def api(self, request: Request) -> Response:
        params = request.query_params
        try:
            limit = parse_limit(params.get("limit"), API_DEFAULT, PAGE_MAX)
            before = parse_cursor(params.get("before"))
            explicit = params.get("explicit", "show")
            if explicit not in ("show", "hide"):
                raise ValueError(f"explicit must be show or hide (got {explicit[:20]!r})")
        except ValueError as exc:
            return _bad(str(exc))
        sessions, cursor = await self.page(limit, before)
        items = [public_session(s, hide_explicit=explicit == "hide") for s in sessions]
        body = json.dumps(
            {"items": items, "next": None if cursor is None else str(cursor)},
            ensure_ascii=False,
            separators=(",", ":"),
        ).encode()
        etag = f'"h-{hashlib.sha256(body).hexdigest()[:20]}"'
        headers = {"ETag": etag, "Cache-Control": "no-cache"}
        if etag_matches(request.headers.get("if-none-match"), etag):
            return Response(status_code=304, headers=headers)
        return Response(body, media_type="application/json", headers=headers)

    async def svg(self, request: Request) -> Response:
        params = request.query_params
        try:
            limit = parse_limit(params.get("limit"), SVG_DEFAULT, SVG_MAX)
            options = parse_options(
                {k: v for k, v in params.items() if k in SVG_OPTIONS}, default_theme="light"
            )
        except (ValueError, OptionError) as exc:
            return _bad(str(exc))
        sessions, _ = await self.page(PAGE_MAX, None)
        plays = collapse(sessions, limit)
        art = await self._art([p.session for p in plays]) if options.art else {}
        svg = render_history(plays, options, art, int(self.clock() * 1000))
        headers = {"Cache-Control": "no-cache"}
        return Response(svg, media_type="image/svg+xml", headers=headers)

    async def _art(self, sessions: list[Session]) -> dict[str, str]:
        """Each row's art as a data URI, within ART_TOTAL characters for the whole card
        (rows past it get the placeholder, as the README card does past its budget)."""
        found: dict[str, str] = {}
        spent = 0
        for url in dict.fromkeys(s["imageUrl"] for s in sessions if s["imageUrl"]):
            if url is None or url in found:
                continue
            uri = await self.art.data_uri(url)
            if uri is not None and spent + len(uri) <= ART_TOTAL:
                found[url] = uri
                spent += len(uri)
        return found
