"""The ingest routes: ListenBrainz's API at the root (`/1/...`, as its clients join it to
the host), the plain JSON route and Web Scrobbler's webhook."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from shared.config import Settings
from shared.document import Document, Song
from shared.privacy_switch import is_hidden
from shared.pushed import Pushed, read_pushed, song_at, update_pushed
from shared.store import Store
from web.art_policy import ArtPolicy
from web.ingest.gate import IngestGate, Refused, error, header_token, not_found, ok, read_body
from web.ingest.listenbrainz import as_listen, parse_submission
from web.ingest.plain import parse_plain
from web.ingest.submission import Malformed, Submission
from web.ingest.webscrobbler import parse_webhook

log = logging.getLogger("nowplaying.ingest")

SUBMIT = "/1/submit-listens"
VALIDATE = "/1/validate-token"
PLAYING_NOW = "/1/user/{user}/playing-now"
PLAIN = "/api/ingest"
WEBSCROBBLER = "/api/ingest/webscrobbler"
PATHS_WITH_BODY = (SUBMIT, PLAIN, WEBSCROBBLER)
Endpoint = Callable[[Request], Awaitable[Response]]
EVERY_METHOD = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


class Ingest:
    def __init__(
        self,
        settings: Settings,
        store: Store,
        clock: Callable[[], float] = time.time,
        gate: IngestGate | None = None,
        shown: Callable[[], Document] | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.shown = shown  # the document readers get now (the hub's), privacy applied
        self.clock = clock
        self.gate = gate or IngestGate(
            settings.ingest_token, ipv6_prefix=settings.client_ipv6_prefix
        )
        policy = ArtPolicy.from_settings(settings)
        self.image_allowed = policy.allows
        # One write at a time per process: concurrent submissions queue here instead of
        # failing each other's WATCH and retrying (between processes WATCH still decides).
        self.writing = asyncio.Lock()

    def routes(self) -> list[BaseRoute]:
        return [
            Route(SUBMIT, methods=EVERY_METHOD, endpoint=self.only("POST", self.submit_listens)),
            Route(VALIDATE, methods=EVERY_METHOD, endpoint=self.only("GET", self.validate_token)),
            Route(PLAYING_NOW, methods=EVERY_METHOD, endpoint=self.only("GET", self.playing_now)),
            Route(PLAIN, methods=EVERY_METHOD, endpoint=self.only("POST", self.plain)),
            Route(
                WEBSCROBBLER, methods=EVERY_METHOD, endpoint=self.only("POST", self.webscrobbler)
            ),
        ]

    def only(self, method: str, handler: Endpoint) -> Endpoint:
        """Every method reaches the route, so that while INGEST_TOKEN is unset each one is
        404 (not a 405 that tells the route exists); then 405 for the wrong method."""

        async def endpoint(request: Request) -> Response:
            if not self.gate.enabled:
                return not_found()
            allowed = (method, "HEAD") if method == "GET" else (method,)
            if request.method not in allowed:
                message = "The method is not allowed for the requested URL."
                return error(405, message, {"Allow": ", ".join(allowed)})
            return await handler(request)

        return endpoint

    def now_ms(self) -> int:
        return int(self.clock() * 1000)

    async def _accept(
        self, request: Request, token: str | None, parse: Callable[[bytes], Submission]
    ) -> Response:
        """Enabled, authorized, not too large, well-formed: then written, else nothing."""
        if not self.gate.enabled:
            return not_found()
        try:
            self.gate.authorize(request, token)
            raw = await read_body(request)
            submission = parse(raw)
        except Refused as refused:
            return refused.response()
        except Malformed as bad:
            return error(400, str(bad))
        now = self.now_ms()
        try:
            async with self.writing:
                await update_pushed(self.store, lambda stored: submission.apply(stored, now))
        except Exception as exc:  # redis errors of every kind
            log.warning("push not stored: redis unavailable (%s)", type(exc).__name__)
            return error(503, "The submission could not be stored; try again later.")
        log.info(
            "push accepted: %s (%d item%s)",
            submission.kind,
            submission.count,
            "" if submission.count == 1 else "s",
        )
        return ok()

    async def submit_listens(self, request: Request) -> Response:
        now_s = self.clock()
        return await self._accept(
            request, header_token(request), lambda raw: parse_submission(raw, now_s)
        )

    async def plain(self, request: Request) -> Response:
        return await self._accept(
            request, header_token(request), lambda raw: parse_plain(raw, self.image_allowed)
        )

    async def webscrobbler(self, request: Request) -> Response:
        """The extension sends no Authorization header: the token rides in `?token=`."""
        token = request.query_params.get("token")
        if token is None:
            token = header_token(request)
        return await self._accept(
            request, token, lambda raw: parse_webhook(raw, self.image_allowed)
        )

    async def validate_token(self, request: Request) -> Response:
        """As ListenBrainz: 200 with `valid` either way, 400 without any token."""
        if not self.gate.enabled:
            return not_found()
        header = request.headers.get("authorization", "")
        if header.lower().startswith("token ") or header.lower().startswith("bearer "):
            token = header.split(" ", 1)[1].strip()
        else:
            token = request.query_params.get("token", "")
        if not token:
            return error(400, "You need to provide an Authorization token.")
        try:
            valid = self.gate.matches(request, token)
        except Refused as refused:
            return refused.response()
        if not valid:
            return JSONResponse({"code": 200, "message": "Token invalid.", "valid": False})
        user = self.settings.ingest_user
        return JSONResponse(
            {"code": 200, "message": "Token valid.", "valid": True, "user_name": user}
        )

    async def playing_now(self, request: Request) -> Response:
        """Public, as ListenBrainz's: the pushed playing item as a listen, or none."""
        if not self.gate.enabled:
            return not_found()
        user = self.settings.ingest_user
        asked = request.path_params["user"]
        if asked.casefold() != user.casefold():
            return error(404, f"Cannot find user: {asked}")
        try:
            song = await self.public_song()
        except Exception:
            return error(503, "The pushed item could not be read; try again later.")
        listens = [as_listen(song, user)] if song and song["isPlaying"] else []
        payload = {"count": len(listens), "user_id": user, "playing_now": True, "listens": listens}
        return JSONResponse({"payload": payload})

    async def public_song(self) -> Song | None:
        """The pushed item as a public answer may show it: nothing while `nowplaying
        privacy hide` holds (`P:privacy:hidden`); with PRIVACY_DELAY or PRIVACY_HIDE set,
        only what the published document shows (the publisher applied them); else the
        pushed record itself, current the moment a submission is accepted."""
        if await is_hidden(self.store):
            return None
        s = self.settings
        if self.shown is not None and (s.privacy_delay > 0 or s.privacy_hide):
            song = self.shown()["song"]
            return song if song is not None and song["provider"] == "push" else None
        record: Pushed | None = await read_pushed(self.store)
        return song_at(record, self.now_ms())
