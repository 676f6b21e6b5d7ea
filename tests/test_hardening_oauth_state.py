"""The OAuth `state` of /login is tied to the browser that asked for it: a short-lived
cookie carries it to /callback, and a callback whose state is not the cookie's is refused
(a link with someone else's code and state must not connect their account)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from nowplaying.simulator.spotify import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    SimState,
    build_app,
    new_state,
)
from shared.config import Settings
from shared.store import Store
from tests.conftest import serve
from web.app import WebRuntime
from web.app import build_app as build_web
from web.setup import STATE_COOKIE

ADMIN = "admin-token-for-tests-0123456789"


@pytest.fixture
async def live_sim() -> AsyncIterator[tuple[SimState, str]]:
    state = new_state("http://127.0.0.1")
    async with serve(build_app(state)) as base:
        yield state, base


async def _web(store: Store, sim_base: str, redirect_uri: str) -> WebRuntime:
    settings = Settings(
        client_id=DEFAULT_CLIENT_ID,
        client_secret=DEFAULT_CLIENT_SECRET,
        accounts_url=sim_base,
        api_url=f"{sim_base}/v1",
        admin_token=ADMIN,
        redirect_uri=redirect_uri,
        redis_prefix=store.keys.prefix,
    )
    return WebRuntime(settings, store)


@pytest.fixture
async def web(fake_store: Store, live_sim: tuple[SimState, str]) -> AsyncIterator[str]:
    runtime = await _web(fake_store, live_sim[1], "http://127.0.0.1:9/callback")
    async with serve(build_web(runtime)) as base:
        yield base


def _cookie_header(response: httpx.Response) -> str:
    headers = [v for k, v in response.headers.multi_items() if k == "set-cookie"]
    assert len(headers) == 1, headers
    return headers[0]


async def _login(client: httpx.AsyncClient, web: str) -> httpx.Response:
    r = await client.get(f"{web}/login", params={"token": ADMIN})
    assert r.status_code == 302
    return r


async def _callback_query(client: httpx.AsyncClient, login: httpx.Response) -> str:
    consent = await client.get(login.headers["location"])
    assert consent.status_code == 302, consent.text
    return urlsplit(consent.headers["location"]).query


async def test_login_sets_a_short_lived_httponly_lax_cookie_for_the_callback_only(
    web: str,
) -> None:
    async with httpx.AsyncClient() as client:
        login = await _login(client, web)
    cookie = _cookie_header(login)
    attributes = [part.strip().lower() for part in cookie.split(";")]
    state = parse_qs(urlsplit(login.headers["location"]).query)["state"][0]
    assert attributes[0] == f"{STATE_COOKIE}={state}".lower()
    assert "httponly" in attributes and "samesite=lax" in attributes
    assert "path=/callback" in attributes and "max-age=600" in attributes
    assert "secure" not in attributes  # plain http on loopback: a Secure cookie is dropped


async def test_the_cookie_is_secure_when_the_callback_is_on_https(
    fake_store: Store, live_sim: tuple[SimState, str]
) -> None:
    runtime = await _web(fake_store, live_sim[1], "https://np.example.com/callback")
    async with serve(build_web(runtime)) as base, httpx.AsyncClient() as client:
        login = await _login(client, base)
    assert "secure" in [p.strip().lower() for p in _cookie_header(login).split(";")]


async def test_a_callback_in_another_browser_is_400_naming_state_and_changes_nothing(
    web: str, fake_store: Store, live_sim: tuple[SimState, str]
) -> None:
    sim, _ = live_sim
    async with httpx.AsyncClient() as owner, httpx.AsyncClient() as attacker:
        # The attacker starts a login of their own and hands its callback to the owner.
        query = await _callback_query(attacker, await _login(attacker, web))
        calls = sim.calls["token"]
        refused = await owner.get(f"{web}/callback?{query}")
        assert refused.status_code == 400 and "state" in refused.text
        assert sim.calls["token"] == calls  # no code exchanged
        assert (await fake_store.refresh_record()).token is None
        # The stored state was not used up by the refusal: the browser it belongs to
        # can still finish (and only once).
        done = await attacker.get(f"{web}/callback?{query}")
        assert done.status_code == 200, done.text
        again = await attacker.get(f"{web}/callback?{query}")
        assert again.status_code == 400


async def test_a_cookie_of_another_login_does_not_match(web: str) -> None:
    async with httpx.AsyncClient() as client:
        first = await _login(client, web)
        query = await _callback_query(client, first)
        await _login(client, web)  # a second login: its cookie replaces the first one's
        r = await client.get(f"{web}/callback?{query}")
    assert r.status_code == 400 and "state" in r.text


async def test_a_matching_cookie_without_a_stored_state_is_still_refused(web: str) -> None:
    forged = "forged-state-0123456789"
    async with httpx.AsyncClient() as client:
        client.cookies.set(STATE_COOKIE, forged, domain="127.0.0.1", path="/callback")
        r = await client.get(f"{web}/callback?code=x&state={forged}")
    assert r.status_code == 400


async def test_the_callback_clears_the_cookie(web: str) -> None:
    async with httpx.AsyncClient() as client:
        query = await _callback_query(client, await _login(client, web))
        done = await client.get(f"{web}/callback?{query}")
        assert done.status_code == 200, done.text
        cleared = _cookie_header(done).lower()
        assert cleared.startswith(f"{STATE_COOKIE}=") and "max-age=0" in cleared
        assert STATE_COOKIE not in client.cookies


async def test_the_admin_reconnect_button_sets_the_same_state_cookie(fake_store: Store) -> None:
    from tests.test_admin import make_site

    async for site in make_site(fake_store, redirect_uri="https://np.example/callback"):
        cookie = await site.session()
        csrf = await site.csrf(cookie)
        r = await site.client.post(
            "/admin/reconnect", data={"csrf": csrf}, headers={"Cookie": cookie}
        )
        assert r.status_code == 302
        state = parse_qs(urlsplit(r.headers["location"]).query)["state"][0]
        attributes = [p.strip().lower() for p in _cookie_header(r).split(";")]
        assert attributes[0] == f"{STATE_COOKIE}={state}".lower()
        assert "secure" in attributes and "path=/callback" in attributes
