"""The demo's simulator is not reachable from the web port; its art is
served same-origin; what `nowplaying simulator` exposes validates its input and never
redirects anywhere but the registered redirect URI."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import httpx
import pytest

from nowplaying.run import demo_poller
from nowplaying.simulator.inputs import MAX_BODY, MAX_FAULTS
from nowplaying.simulator.spotify import DEFAULT_CLIENT_ID, SimState, build_app, new_state
from shared.config import Settings
from shared.heartbeat import TOKEN_LIFETIME_DAYS
from shared.store import Store
from tests.webutil import web_client
from web.app import WebRuntime


@pytest.fixture
async def demo(fake_store: Store) -> AsyncIterator[tuple[httpx.AsyncClient, WebRuntime]]:
    settings = Settings(redis_prefix=fake_store.keys.prefix)
    poller, art = demo_poller(settings, fake_store, "http://0.0.0.0:8000")
    runtime = WebRuntime(settings, fake_store, demo=True, services=[poller], local_art=art.lookup)
    async with web_client(runtime, extra=[art.route()]) as client:
        await poller.poll_once()
        raw = await fake_store.current_raw()
        assert raw is not None
        runtime.hub.update(raw)
        yield client, runtime
    await poller.http.aclose()
    await runtime.http.aclose()


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/sim/_sim/state"),
        ("POST", "/sim/_sim/state"),
        ("POST", "/sim/_sim/skip"),
        ("POST", "/sim/_sim/faults"),
        ("POST", "/sim/_sim/config"),
        ("GET", "/sim/authorize?client_id=sim-client-id&redirect_uri=https://evil.example/"),
        ("POST", "/sim/api/token"),
        ("GET", "/sim/v1/me/player/currently-playing"),
        ("GET", "/_sim/state"),
        ("GET", "/authorize"),
    ],
)
async def test_the_demo_simulator_is_not_reachable_from_the_web_port(
    demo: tuple[httpx.AsyncClient, WebRuntime], method: str, path: str
) -> None:
    client, _ = demo
    r = await client.request(method, path)
    assert r.status_code in (404, 405)


async def test_the_demo_still_plays_through_the_in_process_simulator(
    demo: tuple[httpx.AsyncClient, WebRuntime],
) -> None:
    client, _ = demo
    doc = (await client.get("/api/now-playing")).json()
    assert doc["demo"] is True and doc["song"]["name"]


async def test_demo_art_is_a_same_origin_path_the_web_app_serves(
    demo: tuple[httpx.AsyncClient, WebRuntime],
) -> None:
    client, _ = demo
    doc = (await client.get("/api/now-playing")).json()
    url = doc["song"]["albumImageUrl"]
    assert url.startswith("/demo-art/")  # not http://0.0.0.0:8000/...
    r = await client.get(url)
    assert r.status_code == 200 and r.headers["content-type"] == "image/png"
    assert r.content.startswith(b"\x89PNG")


async def test_the_svg_card_inlines_the_demo_art_without_http(
    demo: tuple[httpx.AsyncClient, WebRuntime],
) -> None:
    client, _ = demo
    assert 'href="data:image/png;base64,' in (await client.get("/embed.svg")).text


async def test_unknown_demo_art_is_404(demo: tuple[httpx.AsyncClient, WebRuntime]) -> None:
    client, _ = demo
    for name in ("nope-300.png", "4uLU6hMCjMI75M1A2tKUQC-301.png", "..%2Fetc%2Fpasswd"):
        assert (await client.get(f"/demo-art/{name}")).status_code == 404


# -- what stays reachable in `nowplaying simulator` ------------------------------------


@pytest.fixture
async def sim_client(sim: SimState) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=build_app(sim))
    async with httpx.AsyncClient(transport=transport, base_url="http://sim.test") as client:
        yield client


@pytest.mark.parametrize(
    "body",
    [
        {"index": 1.5},
        {"index": 99},
        {"index": -1},
        {"index": True},
        {"mode": "dancing"},
        {"positionMs": "10"},
    ],
)
async def test_simulator_state_refuses_bad_types_and_ranges(
    sim_client: httpx.AsyncClient, sim: SimState, body: dict[str, object]
) -> None:
    before = (sim.player.index, sim.player.mode)
    r = await sim_client.post("/_sim/state", json=body)
    assert r.status_code == 400
    assert (sim.player.index, sim.player.mode) == before


async def test_a_float_index_no_longer_breaks_every_later_poll(
    sim_client: httpx.AsyncClient,
) -> None:
    await sim_client.post("/_sim/state", json={"index": 1.5})
    r = await sim_client.get("/_sim/state")
    assert r.status_code == 200 and r.json()["index"] == 0


@pytest.mark.parametrize(
    "body",
    [
        {"status": "500"},
        {"status": 9999},
        {"times": 0},
        {"delay": 3600},
        {"endpoint": "everything"},
        {"retryAfter": -1},
        {"faults": "x"},
        {"faults": [1]},
    ],
)
async def test_simulator_faults_refuse_bad_values(
    sim_client: httpx.AsyncClient, sim: SimState, body: dict[str, object]
) -> None:
    assert (await sim_client.post("/_sim/faults", json=body)).status_code == 400
    assert sim.faults == []


async def test_simulator_fault_queue_is_capped(
    sim_client: httpx.AsyncClient, sim: SimState
) -> None:
    body = {"faults": [{"status": 500}] * (MAX_FAULTS + 1)}
    assert (await sim_client.post("/_sim/faults", json=body)).status_code == 400
    assert sim.faults == []


async def test_simulator_bodies_past_64_kib_are_refused(
    sim_client: httpx.AsyncClient,
) -> None:
    big = b'{"x": "' + b"a" * MAX_BODY + b'"}'
    for path in ("/_sim/faults", "/_sim/config", "/_sim/state", "/api/token"):
        assert (await sim_client.post(path, content=big)).status_code == 413


async def test_simulator_refuses_a_streamed_body_past_the_cap_without_a_length(
    sim_client: httpx.AsyncClient,
) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(100):  # 6.4 MB if it were all taken
            yield b"a" * 65536
            await asyncio.sleep(0)

    assert (await sim_client.post("/_sim/faults", content=chunks())).status_code == 413


async def test_simulator_config_refuses_bad_values(sim_client: httpx.AsyncClient) -> None:
    for body in ({"tokenLifetime": "long"}, {"consent": "maybe"}, {"redirectUris": "x"}):
        assert (await sim_client.post("/_sim/config", json=body)).status_code == 400


async def test_simulator_authorize_never_redirects_to_an_unregistered_uri(
    sim_client: httpx.AsyncClient, sim: SimState
) -> None:
    sim.redirect_uris = {"http://127.0.0.1:8000/callback"}
    for uri in ("https://evil.example/", "http://127.0.0.1:8001/callback"):
        r = await sim_client.get(
            "/authorize",
            params={"client_id": DEFAULT_CLIENT_ID, "redirect_uri": uri, "response_type": "code"},
        )
        assert r.status_code == 400 and "location" not in r.headers


async def test_simulator_authorize_without_a_registered_list_takes_no_https_uri() -> None:
    state = new_state("http://sim.test")
    transport = httpx.ASGITransport(app=build_app(state))
    async with httpx.AsyncClient(transport=transport, base_url="http://sim.test") as client:
        params = {
            "client_id": DEFAULT_CLIENT_ID,
            "redirect_uri": "https://evil.example/cb",
            "response_type": "code",
        }
        r = await client.get("/authorize", params=params)
    assert r.status_code == 400 and "location" not in r.headers


async def test_the_demo_on_a_shared_redis_leaves_the_owners_tokens_alone(
    fake_store: Store,
) -> None:
    await fake_store.store_refresh_token("owners-refresh", authorized_at=1, env_seen=None)
    await fake_store.set_access_token("owners-access", 10**13, 60_000)
    poller, _ = demo_poller(Settings(), fake_store, "http://127.0.0.1:8000")
    try:
        await poller.poll_once()
        doc = await fake_store.current()
        assert doc is not None and doc["demo"] is True and doc["song"] is not None
        assert (await fake_store.refresh_record()).token == "owners-refresh"
        assert await fake_store.access_token() == ("owners-access", 10**13)
    finally:
        await poller.http.aclose()


async def test_the_demo_on_a_shared_redis_never_warns_about_the_owners_token(
    fake_store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    """Its tokens are its own (P:demo:token:*): the owner's expiry is none of its business."""
    ten_days_left = int(time.time() * 1000) - (TOKEN_LIFETIME_DAYS - 10) * 86_400_000
    await fake_store.store_refresh_token("owners-refresh", authorized_at=ten_days_left)
    caplog.set_level("WARNING", logger="nowplaying.poller")
    poller, _ = demo_poller(Settings(), fake_store, "http://127.0.0.1:8000")
    try:
        await poller.keepalive()
        beat = await fake_store.heartbeat()
    finally:
        await poller.http.aclose()
    assert beat is not None and beat["demo"] and beat["tokenAuthorizedAt"] is None
    assert not [r for r in caplog.records if "expires in" in r.getMessage()]
