"""How long /og.png takes: a cold render (a new document version: the SVG card composed and
rasterised by resvg in a worker thread) and a cached answer (the same version again).

    python -m bench.og_png [--runs 5] [--cold 40] [--cached 2000] [--write]

Each run measures p99 over its renders; the figure is the median of the runs' p99. With
`--write` the section "og.png render" of docs/BENCHMARKS.md is replaced (or appended).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import platform
import time
from pathlib import Path

import httpx

from bench.procs import ROOT, median, percentile
from shared.document import Document
from tests.webutil import document, raw
from web.art import ArtCache
from web.hub import Hub
from web.og import OgImage, rasterise

OUT: Path = ROOT / "docs" / "BENCHMARKS.md"
TITLE = "## og.png render"


def art_uri() -> str:
    """A 300 px album-art-like PNG as a data URI (what the art cache hands the card)."""
    svg = (
        '<svg xmlns="http://www.w3.org/2000/svg" width="300" height="300">'
        '<defs><linearGradient id="g" x2="1" y2="1"><stop stop-color="#e85d75"/>'
        '<stop offset="1" stop-color="#3b1c6b"/></linearGradient></defs>'
        '<rect width="300" height="300" fill="url(#g)"/><circle cx="150" cy="150" r="90" '
        'fill="#fff" fill-opacity=".25"/></svg>'
    )
    return "data:image/png;base64," + base64.b64encode(rasterise(svg)).decode()


class FixedArt(ArtCache):
    def __init__(self, http: httpx.AsyncClient, uri: str) -> None:
        super().__init__(http)
        self.uri = uri

    async def data_uri(self, url: str | None) -> str | None:
        return self.uri


def with_art(version: int) -> Document:
    doc = document(version, f"Track number {version}")
    assert doc["song"] is not None
    doc["song"]["albumImageUrl"] = "https://i.scdn.co/image/bench"
    return doc


async def one_run(cold: int, cached: int, uri: str) -> tuple[float, float]:
    hub = Hub()
    async with httpx.AsyncClient() as http:
        og = OgImage(hub, FixedArt(http, uri))
        cold_ms, cached_ms = [], []
        for version in range(1, cold + 1):
            hub.update(raw(with_art(version)))
            start = time.perf_counter()
            await og.png(hub.document, "light")
            cold_ms.append((time.perf_counter() - start) * 1000)
        for _ in range(cached):
            start = time.perf_counter()
            await og.png(hub.document, "light")
            cached_ms.append((time.perf_counter() - start) * 1000)
        assert og.renders == cold
    return percentile(cold_ms, 99), percentile(cached_ms, 99)


def section(command: str, cold: float, cached: float, runs: int) -> str:
    return (
        f"{TITLE}\n\n"
        f"Command: `{command}`\n\n"
        "`/og.png`'s work per request, in process (no HTTP): a cold render is a new document\n"
        "version (the wide card composed on a 1200 x 630 canvas with a 300 px album art, then\n"
        "rasterised by resvg in a worker thread, one at a time); a cached answer is the same\n"
        f"version again. p99 per run, median of {runs} runs; Python {platform.python_version()},\n"
        "on the 2-core machine while other work ran on it.\n\n"
        "| | p99 |\n|---|---|\n"
        f"| cold render | {cold:.1f} ms |\n"
        f"| cached | {cached * 1000:.1f} µs |\n"
    )


def write(text: str) -> None:
    current = OUT.read_text()
    start = current.find(TITLE)
    if start < 0:
        OUT.write_text(current.rstrip("\n") + "\n\n" + text)
        return
    end = current.find("\n## ", start + len(TITLE))
    rest = current[end + 1 :] if end >= 0 else ""
    OUT.write_text(current[:start] + text + ("\n" + rest if rest else ""))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--cold", type=int, default=40)
    parser.add_argument("--cached", type=int, default=2000)
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args()
    uri = art_uri()
    results = [asyncio.run(one_run(args.cold, args.cached, uri)) for _ in range(args.runs)]
    cold = median([r[0] for r in results])
    cached = median([r[1] for r in results])
    command = f"python -m bench.og_png --runs {args.runs} --cold {args.cold} --cached {args.cached}"
    text = section(command, cold, cached, args.runs)
    print(text)
    if args.write:
        write(text)


if __name__ == "__main__":
    main()
