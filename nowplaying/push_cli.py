"""`nowplaying push "Artist" "Title"`: tell a running instance what plays, from a shell.

A client of the instance's own `POST /api/ingest` (Bearer INGEST_TOKEN), so it works
against `nowplaying run` on this machine as against a deployment (`--url`). The item plays
for `--duration` seconds (10 minutes without) or until the next push; `--pause` and
`--clear` pause or end it.
"""

from __future__ import annotations

import argparse
import math
from typing import Any

import httpx

from shared.config import Settings
from web.server import public_url


def add_parser(sub: Any) -> None:
    push = sub.add_parser(
        "push",
        help="tell a running instance what plays (needs INGEST_TOKEN)",
        description="POST an item to /api/ingest of a running instance",
    )
    push.add_argument("artist", nargs="?", help="the artist (several: comma-separated)")
    push.add_argument("title", nargs="?", help="the track's title")
    push.add_argument("--album", default=None)
    push.add_argument("--duration", type=float, default=None, help="seconds (default: unknown)")
    push.add_argument("--url", default=None, help="instance URL (default: http://HOST:PORT)")
    push.add_argument("--pause", action="store_true", help="pause the pushed item")
    push.add_argument("--clear", action="store_true", help="end the pushed item")


def body_of(args: argparse.Namespace) -> dict[str, Any]:
    if args.clear:
        return {"clear": True}
    if args.pause:
        return {"isPlaying": False}
    if not args.artist or not args.title:
        raise ValueError('give an artist and a title: nowplaying push "Artist" "Title"')
    body: dict[str, Any] = {
        "name": args.title,
        "artists": [a.strip() for a in args.artist.split(",") if a.strip()],
    }
    if args.album:
        body["album"] = args.album
    if args.duration is not None:
        if not math.isfinite(args.duration) or args.duration <= 0:
            raise ValueError(
                f"--duration must be a positive number of seconds, got {args.duration}"
            )
        body["durationMs"] = int(args.duration * 1000)
    return body


def push_main(settings: Settings, args: argparse.Namespace) -> int:
    if not settings.ingest_token:
        print("nowplaying: INGEST_TOKEN must be set (here and in the instance) to push")
        return 2
    try:
        body = body_of(args)
    except ValueError as exc:
        print(f"nowplaying: {exc}")
        return 2
    base = (args.url or public_url(settings.host, settings.port)).rstrip("/")
    headers = {"Authorization": f"Bearer {settings.ingest_token}"}
    try:
        answer = httpx.post(f"{base}/api/ingest", json=body, headers=headers, timeout=10)
    except httpx.HTTPError as exc:
        print(f"nowplaying: {base} cannot be reached ({type(exc).__name__}): is it running?")
        return 1
    if answer.status_code != 200:
        print(f"nowplaying: {base} answered {answer.status_code}: {answer.text[:200]}")
        return 1
    print("pushed" if "name" in body else "done")
    return 0
