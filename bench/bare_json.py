"""The yardstick for the cached JSON route: a bare Starlette route returning the same
bytes, on the same uvicorn settings as `nowplaying web`.

    python -m bench.bare_json --port 8001 --body-file doc.json
"""

from __future__ import annotations

import argparse
from pathlib import Path

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from web.server import uvicorn_config


def build_app(body: bytes) -> Starlette:
    async def now_playing(request: Request) -> Response:
        return Response(body, media_type="application/json")

    async def healthz(request: Request) -> Response:
        return Response(b"ok")

    return Starlette(routes=[Route("/api/now-playing", now_playing), Route("/healthz", healthz)])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--body-file", type=Path, required=True)
    args = parser.parse_args()
    app = build_app(args.body_file.read_bytes())
    uvicorn.Server(uvicorn_config(app, "127.0.0.1", args.port)).run()


if __name__ == "__main__":
    main()
