"""Every path the web app answers, and what each sends besides its body: one table.

The metrics' route labels, the CORS scope and the security headers are all read from
`ROUTES`, so adding a route is one row here plus one `Route` in `web/app.py`
(tests/test_route_policy.py checks the two agree). Pure: no I/O, no Starlette.
"""

from __future__ import annotations

from dataclasses import dataclass

Header = tuple[bytes, bytes]

# The SVG card is shown by GitHub's image proxy and in <img>: it may load nothing.
CSP_SVG = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"
# Our HTML pages: their own scripts and styles (inline too), the stream and the JSON
# from this origin, album art from anywhere (Spotify's CDN, the demo's /sim).
# A display-only page (the card page, the overlay) may be framed by any site (OBS, a
# portfolio): it has nothing to click that acts. Every other page refuses frames.
CSP_FRAMEABLE_PAGE = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src * data: blob:; connect-src 'self'; base-uri 'none'; form-action 'none'; "
    "object-src 'none'"
)
# /login and /callback send plain HTML with one inline style attribute and run no script:
# they may load nothing, so an injection into them (an error text echoed back) cannot run
# or fetch anything, and no site may frame them.
CSP_SETUP = (
    "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'"
)

# /admin: its own inline script and styles, its JSON from this origin, no frames. No
# form-action: the reconnect form's answer redirects to Spotify's consent page.
CSP_ADMIN = (
    "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; base-uri 'none'; frame-ancestors 'none'"
)
# /configure: previews of this origin's cards (img) and overlay (frame); no site frames it.
CSP_CONFIGURE = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; frame-src 'self'; base-uri 'none'; "
    "form-action 'none'; object-src 'none'; frame-ancestors 'none'"
)


INGEST_BODY = 64 * 1024  # the contract: 413 past 64 KiB
FORM_BODY = 8 * 1024  # /admin's forms: a token or a CSRF field, a few hundred bytes


@dataclass(frozen=True)
class RoutePolicy:
    path: str
    cors: bool = False  # answers CORS per CORS_ORIGINS (the contract's list)
    csp: str | None = None  # Content-Security-Policy, for what a browser renders
    body_limit: int = 0  # the largest request body in bytes (0: none is read)
    # Served ahead of the middleware (web/hot.py's RawRoutes) and adding its own headers
    # with web/headers.py's `route_headers`. Only the SSE stream: the fan-out drives its
    # `send` by hand, which stays correct only while it is the server's own (every
    # middleware wraps it in a coroutine per frame: 434 vs 122 ms p99 at 10,000 streams;
    # web/fanout.py says what must stay true, tests/test_fanout.py guards it).
    raw: bool = False


ROUTES: tuple[RoutePolicy, ...] = (
    RoutePolicy("/", csp=CSP_FRAMEABLE_PAGE),
    RoutePolicy("/api/now-playing", cors=True),
    RoutePolicy("/api/stream", cors=True, raw=True),
    RoutePolicy("/widget.js", cors=True),
    RoutePolicy("/embed.svg", cors=True, csp=CSP_SVG),
    RoutePolicy("/api/history", cors=True),
    RoutePolicy("/history.svg", cors=True, csp=CSP_SVG),
    RoutePolicy("/now.txt", cors=True),
    RoutePolicy("/overlay", csp=CSP_FRAMEABLE_PAGE),
    RoutePolicy("/open"),  # a redirect
    RoutePolicy("/healthz"),
    RoutePolicy("/readyz"),
    RoutePolicy("/metrics"),
    RoutePolicy("/login", csp=CSP_SETUP),
    RoutePolicy("/callback", csp=CSP_SETUP),
    RoutePolicy("/og.png"),  # a PNG for link previews: no CORS, no CSP needed
    RoutePolicy("/admin", csp=CSP_ADMIN, body_limit=FORM_BODY),
    RoutePolicy("/admin/status.json"),
    RoutePolicy("/admin/logout", csp=CSP_ADMIN, body_limit=FORM_BODY),
    RoutePolicy("/admin/privacy", csp=CSP_ADMIN, body_limit=FORM_BODY),
    RoutePolicy("/admin/reconnect", csp=CSP_ADMIN, body_limit=FORM_BODY),
    RoutePolicy("/admin/test-push", csp=CSP_ADMIN, body_limit=FORM_BODY),
    RoutePolicy("/configure", csp=CSP_CONFIGURE),
    # Push ingest (web/ingest/): ListenBrainz's API at the root, no CORS (only /api/* has it).
    RoutePolicy("/1/submit-listens", body_limit=INGEST_BODY),
    RoutePolicy("/1/validate-token"),
    RoutePolicy("/1/user/{user}/playing-now"),  # a template: its requests get the defaults
    RoutePolicy("/api/ingest", cors=True, body_limit=INGEST_BODY),
    RoutePolicy("/api/ingest/webscrobbler", cors=True, body_limit=INGEST_BODY),
)
BY_PATH = {route.path: route for route in ROUTES}
BODY_LIMITS = {route.path: route.body_limit for route in ROUTES if route.body_limit}
# The CORS routes that take a POST (push ingest): a browser script's preflight for them asks
# for POST with Authorization and Content-Type (web/cors.py).
CORS_POST_PATHS = frozenset(route.path for route in ROUTES if route.cors and route.body_limit)
RAW_PATHS = frozenset(route.path for route in ROUTES if route.raw)
PATHS = frozenset(BY_PATH)
INGEST_PATHS = frozenset(
    ("/1/submit-listens", "/1/validate-token", "/api/ingest", "/api/ingest/webscrobbler")
)
API_PREFIX = "/api/"  # the contract: every /api/* answers CORS, a future one too
OTHER = RoutePolicy("")


def policy_for(path: str) -> RoutePolicy:
    """The row for `path`; an unlisted path (a 404, /sim/…) gets the defaults, and CORS
    only under /api/."""
    route = BY_PATH.get(path)
    if route is not None:
        return route
    return RoutePolicy(path, cors=True) if path.startswith(API_PREFIX) else OTHER


def is_ingest_path(path: str) -> bool:
    """Whether `path` is one of the push ingest routes (the playing-now template too)."""
    if path in INGEST_PATHS:
        return True
    user, sep, rest = path.removeprefix("/1/user/").partition("/")
    return path.startswith("/1/user/") and bool(user) and sep == "/" and rest == "playing-now"


def metric_label(path: str) -> str:
    """The `route` label of nowplaying_http_requests: bounded, whatever clients ask."""
    return path if path in PATHS else ("/static" if path.startswith("/static/") else "other")


def security_headers(route: RoutePolicy) -> list[Header]:
    """Headers every answer of `route` carries, whatever its status."""
    headers: list[Header] = [
        (b"x-content-type-options", b"nosniff"),
        (b"referrer-policy", b"no-referrer"),
    ]
    if route.csp is not None:
        headers.append((b"content-security-policy", route.csp.encode()))
    return headers
