"""Running the pieces: `nowplaying run` (web + poller in one process) and `nowplaying poller`.

The only module that wires a Poller into a web process: the web runtime starts and stops
it like any other service, without knowing what it is.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging

import httpx
from starlette.routing import BaseRoute

from nowplaying.simulator import spotify as sim
from nowplaying.simulator.art import catalog_png
from nowplaying.simulator.player import ART_COLORS
from poller.service import Poller, run_poller
from shared.config import Settings
from shared.spotify import make_http_client
from shared.store import Store, connect
from web.app import build_app
from web.demo_art import PATH as DEMO_ART_PATH
from web.demo_art import DemoArt
from web.runtime import WebRuntime
from web.server import Server, public_url, uvicorn_config

log = logging.getLogger("nowplaying")


def demo_art() -> DemoArt:
    """The demo's art as the web app serves it, drawn by the simulator."""
    return DemoArt(lambda name: catalog_png(name, ART_COLORS))


def demo_poller(settings: Settings, store: Store, public: str) -> tuple[Poller, DemoArt]:
    """A poller wired to the simulated Spotify in-process, without sockets and without any
    public mount, and the art the web app serves for it on the same origin."""
    state = sim.new_state(public)
    state.player.art_base = DEMO_ART_PATH
    sim_app = sim.build_app(state)
    demo_settings = dataclasses.replace(
        settings,
        client_id=sim.DEFAULT_CLIENT_ID,
        client_secret=sim.DEFAULT_CLIENT_SECRET,
        refresh_token=sim.DEFAULT_REFRESH_TOKEN,
        access_token=None,
        accounts_url="http://simulator",
        api_url="http://simulator/v1",
    )
    http = make_http_client(2.0, transport=httpx.ASGITransport(app=sim_app))
    return Poller(demo_settings, store, http, demo=True), demo_art()


def serve_all(settings: Settings, host: str, port: int) -> int:
    """Web app and poller in one process; embedded store and demo player by default."""
    store = Store(connect(settings.redis_url), settings.redis_prefix)
    public = public_url(host, port)
    demo = not settings.has_provider
    extra: list[BaseRoute] = []
    art: DemoArt | None = None
    if demo:
        poller, art = demo_poller(settings, store, public)
        extra.append(art.route())
    else:
        poller = Poller(settings, store, make_http_client(settings.poll_timeout_s), demo=False)
    local = art.lookup if art is not None else None
    runtime = WebRuntime(settings, store, demo=demo, services=[poller], local_art=local)
    server = Server(uvicorn_config(build_app(runtime, extra), host, port, settings), runtime)
    store_text = "Redis" if settings.redis_url else "embedded store (no Redis)"
    mode = (
        "demo: simulated Spotify player" if demo else "sources: " + ",".join(settings.source_order)
    )
    print(f"nowplaying on {public}/  ({mode}, {store_text})", flush=True)
    if demo:
        print(
            "  No Spotify credentials: showing a simulated player. To connect your account,"
            " see README 'Connect your Spotify account'.",
            flush=True,
        )
    if settings.source_order == ("push",):  # nothing to poll: it shows what is pushed
        print(
            '  Push ingest only: nothing shows until a player or `nowplaying push "Artist"'
            ' "Title"` sends a play (README "Send plays from your player").',
            flush=True,
        )
    server.run()
    return 0


def poller_main(settings: Settings) -> int:
    """`nowplaying poller`: without a provider configured it stays up, idle, saying so (a
    compose stack must not crash-loop before its `.env` is filled in)."""
    if settings.redis_url is None:
        log.warning("REDIS_URL is unset: polling into an embedded store no web app can read")

    async def go() -> None:
        store = Store(connect(settings.redis_url), settings.redis_prefix)
        http = make_http_client(settings.poll_timeout_s)
        try:
            await run_poller(settings, store, http, demo=False)
        finally:
            await http.aclose()
            await store.close()

    asyncio.run(go())
    return 0
