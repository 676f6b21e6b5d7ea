"""The /admin routes: the page (sign-in form or dashboard), its JSON, and its actions.

404 while ADMIN_TOKEN is unset. The token is posted in a form body, never a URL; wrong ones
draw from the same per-address throttle as /login (web/admin_guard.py: the right token
always gets in). Signed in, the owner holds a session cookie (web/admin/session.py:
HttpOnly, SameSite=Strict, Secure behind https, eight hours); every action is a POST that
carries the session's CSRF token, and one without it changes nothing.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.templating import Jinja2Templates

from shared.privacy_switch import set_hidden
from shared.pushed import make_song, now_playing, update_pushed
from web.admin.session import COOKIE, COOKIE_PATH, Sessions, token_matches
from web.admin.status import ErrorLog, read_status
from web.runtime import WebRuntime
from web.setup import Setup

log = logging.getLogger("nowplaying.web")
TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent.parent / "templates"))
TEMPLATES.env.filters["utc"] = lambda ms: (
    f"{datetime.fromtimestamp(ms / 1000, UTC):%Y-%m-%d %H:%M} UTC"
)
MAX_FORM = 4096
NO_STORE = {"Cache-Control": "no-store"}
TEST_PUSH_NAME = "Test push from /admin"


async def read_form(request: Request) -> dict[str, str] | None:
    """A small urlencoded body as a dict (first value of each name); None past MAX_FORM."""
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM:
            return None
    parsed = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
    return {k: v[0] for k, v in parsed.items()}


def is_https(request: Request) -> bool:
    """The request came over https, or through a trusted proxy that says so (uvicorn's
    proxy_headers sets the scheme from X-Forwarded-Proto only for FORWARDED_ALLOW_IPS)."""
    return request.url.scheme == "https"


class Admin:
    def __init__(self, runtime: WebRuntime, setup: Setup) -> None:
        self.runtime = runtime
        self.settings = runtime.settings
        self.setup = setup
        token = self.settings.admin_token
        self.sessions = Sessions(runtime.store, token) if token else None
        self.errors = ErrorLog()

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/admin", self.page, methods=["GET", "HEAD", "POST"]),
            Route("/admin/status.json", self.status_json),
            Route("/admin/logout", self.logout, methods=["POST"]),
            Route("/admin/privacy", self.privacy, methods=["POST"]),
            Route("/admin/reconnect", self.reconnect, methods=["POST"]),
            Route("/admin/test-push", self.test_push, methods=["POST"]),
        ]

    async def session(self, request: Request) -> str | None:
        if self.sessions is None:
            return None
        return await self.sessions.verify(request.cookies.get(COOKIE))

    def _signin(
        self, request: Request, status: int = 200, error: str | None = None, **headers: str
    ) -> Response:
        return TEMPLATES.TemplateResponse(
            request,
            "admin_signin.html",
            {"error": error},
            status_code=status,
            headers={**NO_STORE, **headers},
        )

    async def page(self, request: Request) -> Response:
        if self.sessions is None:
            return Response("Not Found", 404)
        if request.method == "POST":
            return await self.sign_in(request)
        sid = await self.session(request)
        if sid is None:
            return self._signin(request)
        status = await self._status()
        context: dict[str, Any] = {"s": status, "csrf": self.sessions.csrf(sid)}
        return TEMPLATES.TemplateResponse(request, "admin.html", context, headers=NO_STORE)

    async def _status(self) -> dict[str, Any]:
        runtime = self.runtime
        document: dict[str, Any] = dict(runtime.hub.document)
        return await read_status(
            runtime.settings, runtime.store, runtime.redis_reads, document, self.errors
        )

    async def sign_in(self, request: Request) -> Response:
        assert self.sessions is not None and self.settings.admin_token
        form = await read_form(request)
        if form is None:
            return Response("Payload Too Large", 413)
        guard = self.runtime.admin
        key = guard.key(request)
        if token_matches(form.get("token", ""), self.settings.admin_token):
            guard.throttle.cleared(key)  # the right token is never throttled
            cookie = await self.sessions.create()
            response = RedirectResponse("/admin", 303, headers=NO_STORE)
            response.set_cookie(
                COOKIE,
                cookie,
                max_age=self.sessions.lifetime_s,
                path=COOKIE_PATH,
                secure=is_https(request),
                httponly=True,
                samesite="strict",
            )
            return response
        wait = guard.throttle.retry_after(key)
        if wait > 0:
            guard.refusals.count("throttled, 429")
            retry = str(int(wait) + 1)
            text = f"Too many wrong tokens from your address: try again in {retry} s."
            return self._signin(request, 429, text, **{"Retry-After": retry})
        guard.throttle.failed(key)
        guard.refusals.count("wrong, 403")
        return self._signin(request, 403, "That is not the admin token.")

    async def _authorized(self, request: Request) -> tuple[str | None, Response | None]:
        """The session of a POSTed action with its CSRF token, or the refusal to send."""
        if self.sessions is None:
            return None, Response("Not Found", 404)
        sid = await self.session(request)
        form = await read_form(request)
        if form is None:
            return None, Response("Payload Too Large", 413)
        if sid is None:
            return None, Response("Sign in first.", 401, headers=NO_STORE)
        if not self.sessions.csrf_ok(sid, form.get("csrf", "")):
            return None, Response("Missing or wrong CSRF token.", 403, headers=NO_STORE)
        # Under Referrer-Policy: no-referrer browsers send `Origin: null` for our own forms;
        # a named origin must be this host (the host alone: a proxy that terminates TLS
        # without saying so changes the scheme, not the host).
        origin = request.headers.get("origin", "null")
        if origin != "null" and urlsplit(origin).netloc != request.url.netloc:
            return None, Response("Cross-site request refused.", 403, headers=NO_STORE)
        request.state.form = form
        return sid, None

    async def status_json(self, request: Request) -> Response:
        if self.sessions is None:
            return Response("Not Found", 404)
        if await self.session(request) is None:
            return JSONResponse({"error": "sign in first"}, 401, headers=NO_STORE)
        return JSONResponse(await self._status(), headers=NO_STORE)

    async def logout(self, request: Request) -> Response:
        sid, refused = await self._authorized(request)
        if refused is not None or sid is None or self.sessions is None:
            return refused or Response("Not Found", 404)
        await self.sessions.end(sid)
        response = RedirectResponse("/admin", 303, headers=NO_STORE)
        response.delete_cookie(
            COOKIE, path=COOKIE_PATH, secure=is_https(request), httponly=True, samesite="strict"
        )
        return response

    async def privacy(self, request: Request) -> Response:
        _, refused = await self._authorized(request)
        if refused is not None:
            return refused
        hidden = request.state.form.get("hidden") == "1"
        await set_hidden(self.runtime.store, hidden, delayed=self.settings.privacy_delay > 0)
        log.info("privacy switch set from /admin: %s", "hidden" if hidden else "shown")
        return RedirectResponse("/admin", 303, headers=NO_STORE)

    async def test_push(self, request: Request) -> Response:
        """A 30-second test track through the same store and wake the ingest routes use,
        so the owner sees a push reach the card without setting up a player."""
        _, refused = await self._authorized(request)
        if refused is not None:
            return refused
        if not self.runtime.settings.ingest_token:
            return Response("push ingest is off: set INGEST_TOKEN", 409, headers=NO_STORE)
        now = int(time.time() * 1000)
        song = make_song(name=TEST_PUSH_NAME, artists=["nowplaying"], duration_ms=30_000)
        await update_pushed(self.runtime.store, lambda stored: now_playing(stored, song, now))
        log.info("test push sent from /admin")
        return RedirectResponse("/admin", 303, headers=NO_STORE)

    async def reconnect(self, request: Request) -> Response:
        _, refused = await self._authorized(request)
        if refused is not None:
            return refused
        return await self.setup.authorize()  # /login's flow, without retyping the token
