"""The token manager against the simulated accounts service."""

from __future__ import annotations

import httpx
import pytest

from nowplaying.simulator.spotify import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_REFRESH_TOKEN,
    SimState,
)
from poller.providers.spotify.tokens import TokenManager
from shared.spotify import InvalidClient, InvalidGrant, SpotifyClient
from shared.store import Store
from tests.conftest import ManualClock


def manager(
    store: Store, http: httpx.AsyncClient, clock: ManualClock, **kw: object
) -> TokenManager:
    spotify = SpotifyClient(
        http=http, accounts_url="http://sim.test", api_url="http://sim.test/v1", clock=clock
    )
    values: dict[str, object] = {
        "client_id": DEFAULT_CLIENT_ID,
        "client_secret": DEFAULT_CLIENT_SECRET,
        "env_refresh_token": DEFAULT_REFRESH_TOKEN,
        "env_access_token": None,
    }
    values.update(kw)
    return TokenManager(store=store, spotify=spotify, clock_ms=clock.ms, **values)  # type: ignore[arg-type]


async def test_the_access_token_is_reused_until_a_minute_before_it_expires(
    fake_store: Store, sim_http: httpx.AsyncClient, sim: SimState, clock: ManualClock
) -> None:
    tokens = manager(fake_store, sim_http, clock)
    first = await tokens.access_token()
    clock.advance(3600 - 61)
    assert await tokens.access_token() == first
    clock.advance(2)
    assert await tokens.access_token() != first
    assert sim.calls["token 200"] == 2


async def test_a_new_manager_reuses_the_token_stored_in_redis(
    fake_store: Store, sim_http: httpx.AsyncClient, sim: SimState, clock: ManualClock
) -> None:
    first = await manager(fake_store, sim_http, clock).access_token()
    assert await manager(fake_store, sim_http, clock).access_token() == first
    assert sim.calls["token"] == 1


async def test_the_refresh_uses_http_basic_client_credentials(
    fake_store: Store, sim_http: httpx.AsyncClient, sim: SimState, clock: ManualClock
) -> None:
    await manager(fake_store, sim_http, clock).access_token()
    assert sim.last_client_auth == "basic"


async def test_a_rotated_refresh_token_is_stored_and_used_next_time(
    fake_store: Store, sim_http: httpx.AsyncClient, sim: SimState, clock: ManualClock
) -> None:
    sim.rotation = True
    tokens = manager(fake_store, sim_http, clock)
    await tokens.access_token()
    record = await fake_store.refresh_record()
    assert record.token and record.token != DEFAULT_REFRESH_TOKEN
    clock.advance(3600)
    await tokens.access_token()  # the old token is dead at the simulator: this must use the new one
    assert sim.calls["token 200"] == 2


async def test_a_refresh_answer_without_a_refresh_token_keeps_the_old_one(
    fake_store: Store, sim_http: httpx.AsyncClient, sim: SimState, clock: ManualClock
) -> None:
    await manager(fake_store, sim_http, clock).access_token()
    assert (await fake_store.refresh_record()).token == DEFAULT_REFRESH_TOKEN


async def test_a_stored_token_wins_over_the_environment_until_the_variable_changes(
    fake_store: Store, sim_http: httpx.AsyncClient, sim: SimState, clock: ManualClock
) -> None:
    tokens = manager(fake_store, sim_http, clock)
    assert await tokens.refresh_token() == DEFAULT_REFRESH_TOKEN
    await fake_store.store_refresh_token("from-setup-flow", authorized_at=clock.ms())
    assert await tokens.refresh_token() == "from-setup-flow"
    changed = manager(fake_store, sim_http, clock, env_refresh_token="edited-in-env")
    assert await changed.refresh_token() == "edited-in-env"
    assert (
        await manager(
            fake_store, sim_http, clock, env_refresh_token="edited-in-env"
        ).refresh_token()
        == "edited-in-env"
    )


async def test_a_revoked_refresh_token_raises_invalid_grant(
    fake_store: Store, sim_http: httpx.AsyncClient, sim: SimState, clock: ManualClock
) -> None:
    sim.refresh_tokens[DEFAULT_REFRESH_TOKEN] = False
    with pytest.raises(InvalidGrant):
        await manager(fake_store, sim_http, clock).access_token()


async def test_a_wrong_client_secret_raises_invalid_client(
    fake_store: Store, sim_http: httpx.AsyncClient, clock: ManualClock
) -> None:
    with pytest.raises(InvalidClient):
        await manager(fake_store, sim_http, clock, client_secret="wrong").access_token()


async def test_a_token_from_the_environment_is_dated_from_its_first_successful_use(
    fake_store: Store, sim_http: httpx.AsyncClient, clock: ManualClock
) -> None:
    await manager(fake_store, sim_http, clock).access_token()
    assert (await fake_store.refresh_record()).authorized_at == clock.ms()


async def test_a_bare_access_token_is_used_when_no_refresh_token_is_configured(
    fake_store: Store, sim_http: httpx.AsyncClient, sim: SimState, clock: ManualClock
) -> None:
    tokens = manager(fake_store, sim_http, clock, env_refresh_token=None, env_access_token="bare")
    assert await tokens.access_token() == "bare"
    assert sim.calls["token"] == 0
