"""One table (web/routes.py) decides each route's CORS and security headers, for the raw
stream route and the rest alike."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from starlette.routing import Route

from shared.config import Settings
from shared.store import Store
from tests.webutil import web_client
from web.app import build_app
from web.cors import Cors
from web.hot import RawRoutes
from web.routes import CSP_SVG, PATHS, RAW_PATHS, ROUTES, metric_label, policy_for
from web.runtime import WebRuntime

CORS_PATHS = sorted(r.path for r in ROUTES if r.cors)
OTHER_PATHS = [*sorted(r.path for r in ROUTES if not r.cors), "/nothing-here", "/static/x"]
ALLOWED = "https://me.dev"


def cors_part(response: httpx.Response) -> dict[str, str]:
    """The CORS answer: every Access-Control-* header, and whether Vary names Origin."""
    part = {k: v for k, v in response.headers.items() if k.startswith("access-control-")}
    if "origin" in response.headers.get("vary", "").lower():
        part["vary-origin"] = "yes"
    return part


def expected(origins: tuple[str, ...], origin: str | None) -> dict[str, str]:
    part = {k.decode(): v.decode() for k, v in Cors(origins).headers(origin)}
    part.pop("vary")
    return part | {"vary-origin": "yes"}


@pytest.fixture(params=[(ALLOWED,), ("*",)], ids=["one-origin", "any-origin"])
def origins(request: pytest.FixtureRequest) -> tuple[str, ...]:
    value: tuple[str, ...] = request.param
    return value


@pytest.fixture
async def client(origins: tuple[str, ...], fake_store: Store) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(redis_prefix=fake_store.keys.prefix, cors_origins=origins)
    runtime = WebRuntime(settings, fake_store)
    async with web_client(runtime) as c:
        yield c
    await runtime.http.aclose()


@pytest.mark.parametrize("origin", [ALLOWED, "https://evil.dev", None])
async def test_every_cors_route_answers_the_same_cors_headers(
    client: httpx.AsyncClient, origins: tuple[str, ...], origin: str | None
) -> None:
    headers = {"Origin": origin} if origin else {}
    want = expected(origins, origin)
    for path in CORS_PATHS:
        response = await client.head(path, headers=headers)
        assert cors_part(response) == want, path


async def test_an_unlisted_api_path_answers_cors_too(
    client: httpx.AsyncClient, origins: tuple[str, ...]
) -> None:
    response = await client.get("/api/nothing-here", headers={"Origin": ALLOWED})
    assert response.status_code == 404
    assert cors_part(response) == expected(origins, ALLOWED)


async def test_no_other_route_sends_cors_headers(client: httpx.AsyncClient) -> None:
    for path in OTHER_PATHS:
        response = await client.get(path, headers={"Origin": ALLOWED})
        assert not [k for k in response.headers if k.startswith("access-control-")], path


async def test_every_cors_route_answers_a_preflight(client: httpx.AsyncClient) -> None:
    ask = {"Origin": ALLOWED, "Access-Control-Request-Method": "GET"}
    for path in CORS_PATHS:
        response = await client.options(path, headers=ask)
        assert response.status_code == 200, path
        assert response.headers["access-control-allow-origin"] in (ALLOWED, "*"), path


async def test_no_other_route_answers_a_preflight(client: httpx.AsyncClient) -> None:
    ask = {"Origin": ALLOWED, "Access-Control-Request-Method": "GET"}
    for path in OTHER_PATHS:
        response = await client.options(path, headers=ask)
        assert "access-control-allow-origin" not in response.headers, path


async def test_every_answer_says_nosniff_and_no_referrer(client: httpx.AsyncClient) -> None:
    for path in [*CORS_PATHS, *OTHER_PATHS]:
        response = await client.head(path)
        assert response.headers["x-content-type-options"] == "nosniff", path
        assert response.headers["referrer-policy"] == "no-referrer", path


async def test_the_svg_card_may_load_nothing_from_outside(client: httpx.AsyncClient) -> None:
    response = await client.get("/embed.svg")
    assert response.headers["content-security-policy"] == CSP_SVG


async def test_the_card_page_may_be_framed_and_the_setup_pages_may_not(
    client: httpx.AsyncClient,
) -> None:
    page = await client.get("/")
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert "frame-ancestors" not in page.headers["content-security-policy"]
    for path in ("/login", "/callback"):
        response = await client.get(path)
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"], path


def directives(csp: str) -> dict[str, str]:
    pairs = (d.strip().split(None, 1) for d in csp.split(";") if d.strip())
    return {p[0]: p[1] if len(p) > 1 else "" for p in pairs}


@pytest.mark.parametrize("path", ["/login", "/callback"])
async def test_the_setup_pages_allow_no_script(client: httpx.AsyncClient, path: str) -> None:
    csp = directives((await client.get(path)).headers["content-security-policy"])
    assert csp.get("script-src", csp["default-src"]) == "'none'"


def test_the_overlay_page_stays_frameable() -> None:
    csp = policy_for("/overlay").csp
    assert csp is not None and "frame-ancestors" not in csp


def test_every_route_of_the_app_has_a_row_in_the_policy_table(fake_store: Store) -> None:
    app = build_app(WebRuntime(Settings(), fake_store))
    assert isinstance(app, RawRoutes)
    routed = {r.path for r in app.app.app.routes if isinstance(r, Route)}  # type: ignore[attr-defined]  # RawRoutes > PolicyHeaders > Router
    assert routed <= PATHS
    assert set(app.routes) == RAW_PATHS <= routed  # raw paths are routed too (OPTIONS, 405)


def test_only_the_stream_is_served_ahead_of_the_middleware() -> None:
    assert {"/api/stream"} == RAW_PATHS


def test_metric_labels_are_the_table_paths_or_a_bucket() -> None:
    assert metric_label("/readyz") == "/readyz"
    assert metric_label("/static/a.css") == "/static"
    assert metric_label("/wp-admin.php") == "other"
