"""Running the web app on uvicorn: `nowplaying web` (and the server `nowplaying run` uses)."""

from __future__ import annotations

from types import FrameType

import uvicorn

from shared.config import Settings
from shared.store import Store, connect
from web.app import build_app
from web.http_limits import fit_file_descriptors, uvicorn_options
from web.runtime import WebRuntime


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


def uvicorn_config(
    app: object, host: str, port: int, settings: Settings | None = None
) -> uvicorn.Config:
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


def public_url(host: str, port: int) -> str:
    shown = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
    return f"http://{f'[{shown}]' if ':' in shown else shown}:{port}"


def serve_web(settings: Settings, host: str, port: int) -> int:
    store = Store(connect(settings.redis_url), settings.redis_prefix)
    runtime = WebRuntime(settings, store)
    server = Server(uvicorn_config(build_app(runtime), host, port, settings), runtime)
    print(f"nowplaying web on {public_url(host, port)}/", flush=True)
    server.run()
    return 0
