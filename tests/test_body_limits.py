"""Under real uvicorn (web/http_limits.py's protocol), a route reads a body only when its
row in web/routes.py says how large: the ingest POST routes take 64 KiB, /admin's forms a
few KiB, every other route none (413 from the head)."""

from __future__ import annotations

import httpx

from shared.config import Settings
from shared.store import Store
from tests.conftest import serve
from web.app import build_app
from web.http_limits import uvicorn_options
from web.routes import BODY_LIMITS
from web.runtime import WebRuntime

ADMIN = "admin-token-0123456789abcdefgh"


def test_every_route_that_takes_a_post_has_a_body_limit() -> None:
    assert {"/1/submit-listens", "/api/ingest", "/api/ingest/webscrobbler"} <= set(BODY_LIMITS)
    assert {"/admin", "/admin/logout", "/admin/privacy", "/admin/reconnect"} <= set(BODY_LIMITS)


async def test_the_admin_sign_in_form_is_read_under_uvicorn(fake_store: Store) -> None:
    settings = Settings(redis_prefix=fake_store.keys.prefix, admin_token=ADMIN)
    runtime = WebRuntime(settings, fake_store)
    app = build_app(runtime)
    async with serve(app, **uvicorn_options(settings)) as url, httpx.AsyncClient() as http:
        signed = await http.post(f"{url}/admin", data={"token": ADMIN})
        other = await http.post(f"{url}/healthz", content=b"x")
    assert signed.status_code != 413 and signed.status_code < 500
    assert other.status_code == 413
    await runtime.http.aclose()


INGEST_ROUTES = (
    ("POST", "/1/submit-listens"),
    ("GET", "/1/validate-token"),
    ("GET", "/1/user/nowplaying/playing-now"),
    ("POST", "/api/ingest"),
    ("POST", "/api/ingest/webscrobbler"),
)


async def test_with_ingest_disabled_a_large_body_to_any_ingest_route_is_404(
    fake_store: Store,
) -> None:
    """The contract's "ingest disabled" 404 wins over the 64 KiB limit (and over the 400
    for a body on GET): no ingest route may show that it exists."""
    settings = Settings(redis_prefix=fake_store.keys.prefix)
    runtime = WebRuntime(settings, fake_store)
    app = build_app(runtime)
    body = b"x" * (64 * 1024 + 1)
    async with serve(app, **uvicorn_options(settings)) as url, httpx.AsyncClient() as http:
        statuses = {
            path: (await http.request(method, f"{url}{path}", content=body)).status_code
            for method, path in INGEST_ROUTES
        }
    assert statuses == {path: 404 for _, path in INGEST_ROUTES}
    await runtime.http.aclose()


async def test_with_ingest_enabled_a_body_past_64_kib_is_still_413(fake_store: Store) -> None:
    settings = Settings(redis_prefix=fake_store.keys.prefix, ingest_token="i" * 32)
    runtime = WebRuntime(settings, fake_store)
    app = build_app(runtime)
    body = b"x" * (64 * 1024 + 1)
    async with serve(app, **uvicorn_options(settings)) as url, httpx.AsyncClient() as http:
        answer = await http.post(f"{url}/api/ingest", content=body)
    assert answer.status_code == 413
    await runtime.http.aclose()


async def test_a_body_refused_from_its_head_on_a_cors_route_carries_the_cors_headers(
    fake_store: Store,
) -> None:
    """A page on an allowed origin that posts too much reads the 413, not a CORS error."""
    origin = "https://me.example"
    settings = Settings(
        redis_prefix=fake_store.keys.prefix, ingest_token="i" * 32, cors_origins=(origin,)
    )
    runtime = WebRuntime(settings, fake_store)
    app = build_app(runtime)
    body = b"x" * (64 * 1024 + 1)
    async with serve(app, **uvicorn_options(settings)) as url, httpx.AsyncClient() as http:
        allowed = await http.post(f"{url}/api/ingest", content=body, headers={"Origin": origin})
        other = await http.post(
            f"{url}/api/ingest", content=body, headers={"Origin": "https://else.example"}
        )
    assert allowed.status_code == 413
    assert allowed.headers["access-control-allow-origin"] == origin
    assert allowed.headers["vary"] == "Origin"
    assert other.status_code == 413 and "access-control-allow-origin" not in other.headers
    await runtime.http.aclose()


async def test_a_body_refused_on_a_route_without_cors_carries_no_cors_headers(
    fake_store: Store,
) -> None:
    settings = Settings(redis_prefix=fake_store.keys.prefix, cors_origins=("*",))
    runtime = WebRuntime(settings, fake_store)
    app = build_app(runtime)
    async with serve(app, **uvicorn_options(settings)) as url, httpx.AsyncClient() as http:
        page = await http.post(f"{url}/healthz", content=b"x", headers={"Origin": "https://a.b"})
        api = await http.post(
            f"{url}/api/now-playing", content=b"x", headers={"Origin": "https://a.b"}
        )
    assert page.status_code == 413 and "access-control-allow-origin" not in page.headers
    assert api.status_code == 413 and api.headers["access-control-allow-origin"] == "*"
    assert page.headers["x-content-type-options"] == "nosniff"
    await runtime.http.aclose()
