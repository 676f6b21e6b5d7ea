"""nowplaying's web app served without the HTTP-layer limits of web/http_limits.py (head
cap and deadline, connection cap): the baseline bench/limits_cost.py measures them against.

    python -m bench.unlimited_web --port P   (reads the same environment as `python -m web`)
"""

from __future__ import annotations

import argparse

from shared.config import load_settings
from shared.store import Store, connect
from web.app import build_app
from web.runtime import WebRuntime
from web.server import Server, uvicorn_config


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    settings = load_settings()
    runtime = WebRuntime(settings, Store(connect(settings.redis_url), settings.redis_prefix))
    Server(uvicorn_config(build_app(runtime), "127.0.0.1", args.port), runtime).run()


if __name__ == "__main__":
    main()
