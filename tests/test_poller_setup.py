"""Setup errors as the poller meets them, against the in-process simulator: one cause each,
named in the log and the heartbeat (what /readyz reads), with no needless calls to Spotify."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable

import httpx
import pytest

from nowplaying.simulator.spotify import DEFAULT_REFRESH_TOKEN, SimState, build_app
from poller.service import Poller
from shared import setup_errors as se
from shared.config import Settings
from shared.store import Store
from tests.conftest import ManualClock, sim_settings

MakePoller = Callable[..., Poller]


@pytest.fixture
async def make(fake_store: Store, sim: SimState, clock: ManualClock) -> AsyncIterator[MakePoller]:
    transport = httpx.ASGITransport(app=build_app(sim))
    async with httpx.AsyncClient(transport=transport) as http:

        def build(**overrides: object) -> Poller:
            settings: Settings = sim_settings(
                "http://sim.test", redis_prefix=fake_store.keys.prefix, **overrides
            )
            return Poller(settings, fake_store, http, clock=clock, seed=7)

        yield build


async def test_no_refresh_token_yet_is_not_connected_and_spotify_is_never_asked(
    make: MakePoller, sim: SimState
) -> None:
    poller = make(refresh_token=None)
    await poller.poll_once()
    assert poller.setup_error == se.NO_REFRESH_TOKEN and sim.calls["token"] == 0


async def test_a_wrong_client_secret_is_invalid_client(make: MakePoller) -> None:
    poller = make(client_secret="wrong")
    await poller.poll_once()
    assert poller.setup_error == se.INVALID_CLIENT


async def test_a_revoked_refresh_token_is_invalid_grant_and_the_token_is_kept(
    make: MakePoller, sim: SimState, fake_store: Store
) -> None:
    sim.refresh_tokens[DEFAULT_REFRESH_TOKEN] = False
    poller = make()
    await poller.poll_once()
    assert poller.setup_error == se.INVALID_GRANT
    assert (await fake_store.refresh_record()).token == DEFAULT_REFRESH_TOKEN


async def test_an_owner_without_premium_is_its_own_cause(make: MakePoller, sim: SimState) -> None:
    sim.forbidden = se.PREMIUM_TEXT
    poller = make()
    await poller.poll_once()
    assert poller.setup_error == se.PREMIUM_REQUIRED


@pytest.mark.parametrize("text", [se.NOT_REGISTERED_TEXT, se.MAY_NOT_BE_REGISTERED_TEXT])
async def test_a_user_not_on_the_allowlist_is_its_own_cause(
    make: MakePoller, sim: SimState, text: str
) -> None:
    sim.forbidden = text
    poller = make()
    await poller.poll_once()
    assert poller.setup_error == se.USER_NOT_REGISTERED


async def test_a_development_mode_403_is_rechecked_only_every_five_minutes(
    make: MakePoller, sim: SimState, clock: ManualClock
) -> None:
    sim.forbidden = se.NOT_REGISTERED_TEXT
    poller = make()
    await poller.poll_once()
    for _ in range(10):
        clock.advance(5)
        await poller.poll_once()
    assert sim.calls["currently-playing"] == 1


async def test_the_poller_recovers_once_the_403_is_lifted(
    make: MakePoller, sim: SimState, clock: ManualClock, fake_store: Store
) -> None:
    sim.forbidden = se.PREMIUM_TEXT
    poller = make()
    await poller.poll_once()
    sim.forbidden = None
    clock.advance(301)
    await poller.poll_once()
    doc = await fake_store.current()
    assert poller.setup_error is None and doc is not None and doc["song"] is not None


async def test_an_unreachable_spotify_is_named_and_not_an_auth_error(
    fake_store: Store, clock: ManualClock
) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    async with httpx.AsyncClient(transport=httpx.MockTransport(refuse)) as http:
        settings = sim_settings("http://sim.test", redis_prefix=fake_store.keys.prefix)
        poller = Poller(settings, fake_store, http, clock=clock, seed=7)
        await poller.poll_once()
    assert poller.setup_error == se.UNREACHABLE and poller.auth_error is None


async def test_no_spotify_app_configured_idles_without_calls(
    make: MakePoller, sim: SimState
) -> None:
    poller = make(client_id=None, client_secret=None, refresh_token=None)
    await poller.poll_once()
    assert poller.state == "not_connected" and poller.setup_error == se.NOT_CONFIGURED
    assert sim.calls["token"] == 0 and sim.calls["currently-playing"] == 0


async def test_the_heartbeat_carries_the_cause(make: MakePoller, fake_store: Store) -> None:
    poller = make(refresh_token=None)
    await poller.poll_once()
    await poller._write_heartbeat()
    beat = await fake_store.heartbeat()
    assert beat is not None and beat["setupError"] == se.NO_REFRESH_TOKEN


async def test_the_log_names_the_fix_once_not_every_poll(
    make: MakePoller, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    poller = make(client_secret="wrong")
    with caplog.at_level(logging.ERROR, logger="nowplaying.poller"):
        for _ in range(3):
            await poller.poll_once()
            clock.advance(301)
    lines = [r.getMessage() for r in caplog.records if "invalid_client" in r.getMessage()]
    assert lines == [se.log_line(se.INVALID_CLIENT)]


async def test_the_simulator_answers_development_mode_403s_as_plain_text(
    sim_http: httpx.AsyncClient, sim: SimState
) -> None:
    await sim_http.post("/_sim/config", json={"forbidden": se.PREMIUM_TEXT})
    token = next(iter(sim.access_tokens), None) or "none"
    sim.access_tokens[token] = sim.clock() + 60_000
    answer = await sim_http.get(
        "/v1/me/player/currently-playing", headers={"Authorization": f"Bearer {token}"}
    )
    assert answer.status_code == 403
    assert answer.headers["content-type"].startswith("text/plain")
    assert answer.text == se.PREMIUM_TEXT
