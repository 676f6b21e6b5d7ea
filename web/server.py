"""Running the web app on uvicorn: `nowplaying web`, and `nowplaying run` (web + poller)."""

from __future__ import annotations

import dataclasses
from types import FrameType

import httpx
import uvicorn
from starlette.routing import BaseRoute

from poller.service import Poller, make_http_client
from shared.config import Settings
from shared.simulator import app as sim
from shared.store import Store, connect
from web import demo_art
from web.app import WebRuntime, build_app
from web.http_limits import fit_file_descriptors, uvicorn_options


class Server(uvicorn.Server):
    """Ends every open SSE stream as soon as a shutdown signal arrives: uvicorn waits for
    open responses before the app's own shutdown, and streams never finish by themselves."""

    def __init__(self, config: uvicorn.Config, runtime: WebRuntime) -> None:
        super().__init__(config)
        self.runtime = runtime

    def request_shutdown(self) -> None:
        """What a signal does, without the signal (uvicorn re-raises captured signals)."""
        self.runtime.hub.close()
        self.should_exit = True

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        self.runtime.hub.close()
        super().handle_exit(sig, frame)


def _config(app: object, host: str, port: int, settings: Settings | None = None) -> uvicorn.Config:
    """uvicorn's configuration; with `settings`, the request limits (web/http_limits.py)."""
    limits = {}
    if settings is not None:
        limits = uvicorn_options(settings, fit_file_descriptors(settings))
    return uvicorn.Config(
        app,  # type: ignore[arg-type]
        host=host,
        port=port,
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=1,
        timeout_keep_alive=30,
        backlog=4096,
        **limits,
    )


def _public(host: str, port: int) -> str:
    shown = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
    return f"http://{f'[{shown}]' if ':' in shown else shown}:{port}"


def serve_web(settings: Settings, host: str, port: int) -> int:
    store = Store(connect(settings.redis_url), settings.redis_prefix)
    runtime = WebRuntime(settings, store)
    server = Server(_config(build_app(runtime), host, port, settings), runtime)
    print(f"nowplaying web on {_public(host, port)}/", flush=True)
    server.run()
    return 0


def demo_poller(settings: Settings, store: Store, public: str) -> tuple[Poller, BaseRoute]:
    """A poller wired to the simulated Spotify in-process, without sockets and without any
    public mount (#13 row 1), and the route that serves the demo's art on the same origin."""
    state = sim.new_state(public)
    state.player.art_base = demo_art.PATH
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
    return Poller(demo_settings, store, http, demo=True), demo_art.route()


def serve_all(settings: Settings, host: str, port: int) -> int:
    """Web app and poller in one process; embedded store and demo player by default."""
    store = Store(connect(settings.redis_url), settings.redis_prefix)
    public = _public(host, port)
    demo = not settings.has_credentials
    extra: list[BaseRoute] = []
    if demo:
        poller, art_route = demo_poller(settings, store, public)
        extra.append(art_route)
    else:
        timeout = max(0.5, min(10.0, settings.poll_interval * 0.8))
        poller = Poller(settings, store, make_http_client(timeout), demo=False)
    runtime = WebRuntime(settings, store, demo=demo, poller=poller)
    server = Server(_config(build_app(runtime, extra), host, port, settings), runtime)
    store_text = "Redis" if settings.redis_url else "embedded store (no Redis)"
    mode = "demo: simulated Spotify player" if demo else "Spotify account"
    print(f"nowplaying on {public}/  ({mode}, {store_text})", flush=True)
    if demo:
        print(
            "  No Spotify credentials: showing a simulated player. To connect your account,"
            " see README 'Connect your Spotify account'.",
            flush=True,
        )
    server.run()
    return 0
