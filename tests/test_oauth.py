"""Both setup flows end to end against the simulator over real sockets."""

from __future__ import annotations

import asyncio
import logging
import os
import re
import sys
import time
from collections import deque
from collections.abc import AsyncIterator
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from nowplaying.simulator.spotify import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    Fault,
    Quota,
    SimState,
    build_app,
    new_state,
)
from shared.config import Settings
from shared.oauth import redirect_uri_problem
from shared.quota_store import Pause, QuotaStore
from shared.store import Store, connect
from tests.conftest import RedisServer, free_port, serve
from web.app import WebRuntime
from web.app import build_app as build_web

ADMIN = "admin-token-for-tests-0123456789"


@pytest.fixture
async def live_sim() -> AsyncIterator[tuple[SimState, str]]:
    state = new_state("http://127.0.0.1")
    async with serve(build_app(state)) as base:
        yield state, base


@pytest.fixture
async def web(fake_store: Store, live_sim: tuple[SimState, str]) -> AsyncIterator[str]:
    _, sim_base = live_sim
    settings = Settings(
        client_id=DEFAULT_CLIENT_ID,
        client_secret=DEFAULT_CLIENT_SECRET,
        accounts_url=sim_base,
        api_url=f"{sim_base}/v1",
        admin_token=ADMIN,
        redirect_uri="http://127.0.0.1:9/callback",
        redis_prefix=fake_store.keys.prefix,
    )
    async with serve(build_web(WebRuntime(settings, fake_store))) as base:
        yield base


async def start_login(client: httpx.AsyncClient, web: str) -> str:
    r = await client.get(f"{web}/login", params={"token": ADMIN})
    assert r.status_code == 302
    return r.headers["location"]


async def follow_to_callback(client: httpx.AsyncClient, web: str, authorize: str) -> httpx.Response:
    r = await client.get(authorize)
    assert r.status_code == 302, r.text
    callback = urlsplit(r.headers["location"])
    return await client.get(f"{web}/callback?{callback.query}")


@pytest.mark.parametrize(
    "uri", ["http://localhost:8000/callback", "http://example.com/cb", "ftp://x"]
)
def test_redirect_uris_spotify_refuses_are_explained(uri: str) -> None:
    assert redirect_uri_problem(uri) is not None


@pytest.mark.parametrize(
    "uri",
    ["http://127.0.0.1:8000/callback", "http://[::1]:8000/cb", "https://np.example.com/callback"],
)
def test_redirect_uris_spotify_accepts_pass(uri: str) -> None:
    assert redirect_uri_problem(uri) is None


def test_localhost_gets_the_loopback_ip_as_the_fix() -> None:
    assert "http://127.0.0.1:8000/callback" in (
        redirect_uri_problem("http://localhost:8000/callback") or ""
    )


async def test_login_needs_the_admin_token(web: str) -> None:
    async with httpx.AsyncClient() as client:
        assert (await client.get(f"{web}/login")).status_code == 403
        assert (await client.get(f"{web}/login", params={"token": "wrong"})).status_code == 403


async def test_login_redirects_to_authorize_with_scopes_state_and_pkce(web: str) -> None:
    async with httpx.AsyncClient() as client:
        q = parse_qs(urlsplit(await start_login(client, web)).query)
    assert q["response_type"] == ["code"] and q["code_challenge_method"] == ["S256"]
    assert q["scope"] == ["user-read-currently-playing user-read-recently-played"]
    assert len(q["state"][0]) >= 16 and q["code_challenge"][0]


async def test_the_web_flow_stores_the_refresh_token_and_shows_no_token(
    web: str, fake_store: Store, live_sim: tuple[SimState, str]
) -> None:
    async with httpx.AsyncClient() as client:
        r = await follow_to_callback(client, web, await start_login(client, web))
    assert r.status_code == 200 and "connected" in r.text.lower()
    record = await fake_store.refresh_record()
    assert record.token and record.token.startswith("sim-rt-") and record.authorized_at
    assert record.token not in r.text and "sim-at-" not in r.text


async def test_the_web_flows_code_exchange_is_a_call_of_the_daily_budget(
    web: str, fake_store: Store
) -> None:
    async with httpx.AsyncClient() as client:
        r = await follow_to_callback(client, web, await start_login(client, web))
    assert r.status_code == 200
    assert await fake_store.redis.zcard(fake_store.keys.spotify_calls) == 1


async def test_during_a_stored_pause_the_callback_makes_no_call_and_says_until_when(
    web: str, fake_store: Store, live_sim: tuple[SimState, str]
) -> None:
    sim, _ = live_sim
    now = int(time.time() * 1000)
    await QuotaStore(fake_store).set_pause(Pause(now + 3_600_000, "quota"), now)
    async with httpx.AsyncClient() as client:
        r = await follow_to_callback(client, web, await start_login(client, web))
    assert r.status_code == 503 and "paused" in r.text.lower()
    assert sim.calls["token"] == 0 and (await fake_store.refresh_record()).token is None


async def test_a_replayed_state_is_400_and_makes_no_token_request(
    web: str, live_sim: tuple[SimState, str]
) -> None:
    sim, _ = live_sim
    async with httpx.AsyncClient() as client:
        authorize = await start_login(client, web)
        first = await client.get(authorize)
        query = urlsplit(first.headers["location"]).query
        assert (await client.get(f"{web}/callback?{query}")).status_code == 200
        calls = sim.calls["token"]
        assert (await client.get(f"{web}/callback?{query}")).status_code == 400
        assert (
            await client.get(f"{web}/callback?code=x&state=forged-state-1234")
        ).status_code == 400
        assert (await client.get(f"{web}/callback?code=x")).status_code == 400
    assert sim.calls["token"] == calls


async def test_consent_denied_gets_a_clear_page(web: str, live_sim: tuple[SimState, str]) -> None:
    live_sim[0].consent = "deny"
    async with httpx.AsyncClient() as client:
        r = await follow_to_callback(client, web, await start_login(client, web))
    assert r.status_code == 400 and "declined" in r.text


async def test_a_wrong_pkce_verifier_is_rejected_by_the_simulator(
    live_sim: tuple[SimState, str],
) -> None:
    _, base = live_sim
    from shared.oauth import authorize_url, pkce_pair

    _, challenge = pkce_pair()
    async with httpx.AsyncClient() as client:
        r = await client.get(
            authorize_url(base, DEFAULT_CLIENT_ID, "http://127.0.0.1:9/cb", "s" * 16, challenge)
        )
        code = parse_qs(urlsplit(r.headers["location"]).query)["code"][0]
        token = await client.post(
            f"{base}/api/token",
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": "http://127.0.0.1:9/cb",
                "code_verifier": "not-the-verifier",
            },
            auth=(DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET),
        )
    assert token.status_code == 400 and token.json()["error"] == "invalid_grant"


async def run_auth_cli(
    sim_base: str, port: int, **extra: str
) -> tuple[asyncio.subprocess.Process, list[str]]:
    env = (
        {k: v for k, v in os.environ.items() if not k.startswith(("SPOTIFY_", "REDIS_"))}
        | {
            "SPOTIFY_CLIENT_ID": DEFAULT_CLIENT_ID,
            "SPOTIFY_CLIENT_SECRET": DEFAULT_CLIENT_SECRET,
            "SPOTIFY_ACCOUNTS_URL": sim_base,
            "SPOTIFY_REDIRECT_URI": f"http://127.0.0.1:{port}/callback",
        }
        | extra
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "nowplaying.cli",
        "auth",
        "--no-browser",
        "--timeout",
        "20",
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    return process, []


async def printed_authorize_url(process: asyncio.subprocess.Process) -> tuple[str, list[str]]:
    """The authorize URL `nowplaying auth` prints, and the lines up to it; then the short
    wait for its callback listener."""
    assert process.stdout is not None
    lines: list[str] = []
    while True:
        line = (await asyncio.wait_for(process.stdout.readline(), 15)).decode()
        assert line, "".join(lines)
        lines.append(line)
        match = re.search(r"(http://\S+/authorize\?\S+)", line)
        if match:
            await asyncio.sleep(0.3)
            return match.group(1), lines


async def test_the_terminal_flow_prints_the_env_block(
    live_sim: tuple[SimState, str], caplog: pytest.LogCaptureFixture
) -> None:
    _, base = live_sim
    port = free_port()
    process, _ = await run_auth_cli(base, port)
    assert process.stdout is not None
    url, lines = await printed_authorize_url(process)
    async with httpx.AsyncClient(follow_redirects=True) as client:
        r = await client.get(url)
        assert r.status_code == 200
    out = (await asyncio.wait_for(process.stdout.read(), 15)).decode()
    assert await process.wait() == 0
    assert re.search(r"^SPOTIFY_REFRESH_TOKEN=sim-rt-\S+$", out, re.M)
    assert DEFAULT_CLIENT_SECRET not in out + "".join(lines)


async def test_the_terminal_flow_refuses_localhost_with_the_fix(
    live_sim: tuple[SimState, str],
) -> None:
    _, base = live_sim
    process, _ = await run_auth_cli(
        base, 8000, SPOTIFY_REDIRECT_URI="http://localhost:8000/callback"
    )
    out, _ = await process.communicate()
    assert process.returncode == 2 and b"127.0.0.1" in out and b"SPOTIFY_REDIRECT_URI" in out


async def test_the_terminal_flow_reports_an_unregistered_redirect_uri(
    live_sim: tuple[SimState, str],
) -> None:
    sim, base = live_sim
    sim.redirect_uris = {"http://127.0.0.1:1/other"}
    process, _ = await run_auth_cli(base, free_port())
    out, _ = await process.communicate()
    assert process.returncode == 1 and b"not registered" in out


async def test_the_terminal_flow_reports_a_port_in_use(live_sim: tuple[SimState, str]) -> None:
    _, base = live_sim
    blocker = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = blocker.sockets[0].getsockname()[1]
    try:
        process, _ = await run_auth_cli(base, port)
        out, _ = await process.communicate()
    finally:
        blocker.close()
    assert process.returncode == 1 and b"in use" in out


async def test_the_terminal_flow_reports_a_denied_consent(live_sim: tuple[SimState, str]) -> None:
    sim, base = live_sim
    sim.consent = "deny"
    process, _ = await run_auth_cli(base, free_port())
    assert process.stdout is not None
    url, _ = await printed_authorize_url(process)
    async with httpx.AsyncClient(follow_redirects=True) as client:
        await client.get(url)
    out = (await process.stdout.read()).decode()
    assert await process.wait() == 1 and "denied" in out
    logging.getLogger().info("done")


async def test_logs_of_the_web_flow_contain_no_secret_and_no_token(
    web: str, fake_store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    async with httpx.AsyncClient() as client:
        await follow_to_callback(client, web, await start_login(client, web))
    token = (await fake_store.refresh_record()).token
    assert token
    ours = [r for r in caplog.records if r.name.startswith(("nowplaying", "uvicorn"))]
    text = "\n".join(r.getMessage() for r in ours)
    assert "stored through /callback" in text
    for secret in (DEFAULT_CLIENT_SECRET, token, ADMIN):
        assert secret not in text


def test_the_log_filter_redacts_query_secrets_and_known_values() -> None:
    from shared.logs import RedactingFilter

    redact = RedactingFilter([DEFAULT_CLIENT_SECRET]).redact
    line = f"GET /login?token={ADMIN}&x=1 code=abc Bearer xyz.123 {DEFAULT_CLIENT_SECRET}"
    clean = redact(line)
    assert ADMIN not in clean and "abc" not in clean and "xyz.123" not in clean
    assert DEFAULT_CLIENT_SECRET not in clean and "x=1" in clean


async def test_the_terminal_flow_with_redis_down_says_so_and_makes_no_call(
    live_sim: tuple[SimState, str],
) -> None:
    """The code exchange is recorded in Redis first: with REDIS_URL unreachable it is not
    made (an unrecorded call), and the command says why in one line, not a traceback."""
    sim, base = live_sim
    process, _ = await run_auth_cli(
        base, free_port(), REDIS_URL=f"redis://127.0.0.1:{free_port()}/0"
    )
    assert process.stdout is not None
    url, _ = await printed_authorize_url(process)
    async with httpx.AsyncClient(follow_redirects=True) as client:
        await client.get(url)
    out = (await asyncio.wait_for(process.stdout.read(), 15)).decode()
    assert await process.wait() == 1, out
    assert "Traceback" not in out and "REDIS_URL" in out
    assert sim.calls["token"] == 0


async def test_a_quota_exceeded_at_the_callback_is_kept_in_redis_for_the_poller(
    web: str, fake_store: Store, live_sim: tuple[SimState, str]
) -> None:
    """Spotify's QUOTA_EXCEEDED to the code exchange is the same pause for every poller:
    stored (and its quota learnt), not only shown on the page."""
    sim, _ = live_sim
    async with httpx.AsyncClient() as client:
        r = await client.get(await start_login(client, web))
        assert r.status_code == 302, r.text
        sim.quota = Quota(1, calls=deque([sim.clock()]))  # the day's quota is spent
        r = await client.get(f"{web}/callback?{urlsplit(r.headers['location']).query}")
    assert r.status_code == 503 and "paused" in r.text.lower()
    quota = QuotaStore(fake_store)
    pause = await quota.pause(int(time.time() * 1000))
    assert pause is not None and pause.reason == "quota"
    assert await quota.learnt() is not None


async def test_a_quota_exceeded_in_the_terminal_flow_is_kept_in_redis_for_the_poller(
    live_sim: tuple[SimState, str], redis_server: RedisServer
) -> None:
    sim, base = live_sim
    process, _ = await run_auth_cli(base, free_port(), REDIS_URL=redis_server.url)
    assert process.stdout is not None
    url, _ = await printed_authorize_url(process)
    async with httpx.AsyncClient() as client:
        r = await client.get(url)
        assert r.status_code == 302, r.text
        sim.quota = Quota(1, calls=deque([sim.clock()]))  # the day's quota is spent
        await client.get(r.headers["location"])
    out = (await asyncio.wait_for(process.stdout.read(), 15)).decode()
    assert await process.wait() == 1 and "no Spotify call may be made" in out, out
    store = Store(connect(redis_server.url), "nowplaying")
    try:
        pause = await QuotaStore(store).pause(int(time.time() * 1000))
    finally:
        await store.close()
    assert pause is not None and pause.reason == "quota"


@pytest.mark.parametrize("retry_after", [120, None], ids=["retry-after", "no-retry-after"])
async def test_a_rate_limited_code_exchange_says_try_again_later_not_code_rejected(
    web: str, fake_store: Store, live_sim: tuple[SimState, str], retry_after: int | None
) -> None:
    sim, _ = live_sim
    sim.faults.append(Fault("token", status=429, retry_after=retry_after))
    async with httpx.AsyncClient() as client:
        r = await follow_to_callback(client, web, await start_login(client, web))
    assert r.status_code == 503 and "rate-limit" in r.text and "try again later" in r.text
    assert "rejected" not in r.text.lower()
    assert int(r.headers["retry-after"]) > 0
    assert (await fake_store.refresh_record()).token is None


async def test_after_a_rate_limited_code_exchange_the_callback_makes_no_call_until_it_ends(
    web: str, live_sim: tuple[SimState, str]
) -> None:
    sim, _ = live_sim
    sim.faults.append(Fault("token", status=429))  # no Retry-After: 30 s
    async with httpx.AsyncClient() as client:
        await follow_to_callback(client, web, await start_login(client, web))
        calls = sim.calls["token"]
        again = await follow_to_callback(client, web, await start_login(client, web))
    assert again.status_code == 503 and "rate-limit" in again.text
    assert sim.calls["token"] == calls and sim.calls_while_blocked == 0


async def test_the_terminal_flow_says_a_rate_limited_code_exchange_is_to_be_tried_later(
    live_sim: tuple[SimState, str],
) -> None:
    sim, base = live_sim
    sim.faults.append(Fault("token", status=429))
    process, _ = await run_auth_cli(base, free_port())
    assert process.stdout is not None
    url, _ = await printed_authorize_url(process)
    async with httpx.AsyncClient(follow_redirects=True) as client:
        await client.get(url)
    out = (await asyncio.wait_for(process.stdout.read(), 15)).decode()
    assert await process.wait() == 1 and "rate-limited" in out and "try again later" in out
