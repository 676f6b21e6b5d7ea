"""Real nginx and Caddy in front of the app, with the configs docs/DEPLOY.md shows (deploy/).

The test (tests/test_proxies.py) and the benchmark (`python -m bench.proxies`) run the same
files, changed only where a local run must differ: the listening port and the upstream
address, and, wrapped around them, what a system's main config would provide (nginx's
`events {}`, pid and temp paths; Caddy's global options with the admin API off, so that
several runs on one machine never collide on port 2019).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import shutil
import socket
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bench.procs import ROOT, Proc, free_port, median, spawn
from shared.document import Song

DEPLOY = ROOT / "deploy"
UPSTREAM = "127.0.0.1:8000"
SITE = "np.example.com"


def wait_port(port: int, proc: Proc, timeout_s: float = 20.0) -> None:
    """Until the proxy accepts connections (not via HTTP: the app may share this thread)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.process.poll() is not None:
            raise RuntimeError(f"{proc.name} exited:\n{proc.log()}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.05)
    raise TimeoutError(f"{proc.name} did not listen on {port} within {timeout_s} s:\n{proc.log()}")


def nginx_main_config(site_conf: Path, prefix: Path) -> str:
    """What /etc/nginx/nginx.conf gives a site file, minus anything needing root."""
    temp = "\n".join(
        f"    {kind}_temp_path {prefix}/{kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    return (
        f"daemon off;\nworker_processes 1;\npid {prefix}/nginx.pid;\n"
        f"error_log {prefix}/error.log;\nevents {{}}\n"
        f"http {{\n    access_log off;\n{temp}\n    include {site_conf};\n}}\n"
    )


def local_site(text: str, upstream: str, listen: tuple[str, str]) -> str:
    """The deploy/ file with only the upstream and the listening address changed."""
    old, new = listen
    if UPSTREAM not in text or old not in text:
        raise ValueError(f"the config no longer has {UPSTREAM!r} and {old!r}")
    return text.replace(UPSTREAM, upstream).replace(old, new, 1)


@contextlib.contextmanager
def _running(proc: Proc, port: int, directory: Path) -> Iterator[str]:
    """A started proxy, once it listens; stopped and its directory removed afterwards."""
    try:
        wait_port(port, proc)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.stop()
        shutil.rmtree(directory, ignore_errors=True)


@contextlib.contextmanager
def nginx(upstream: str, config: str = "nginx.conf") -> Iterator[str]:
    """Debian's nginx on a free port with deploy/`config`; yields its base URL."""
    binary = shutil.which("nginx") or "/usr/sbin/nginx"
    prefix = Path(tempfile.mkdtemp(prefix="np-nginx-"))
    port = free_port()
    site = prefix / "site.conf"
    text = (DEPLOY / config).read_text()
    site.write_text(local_site(text, upstream, ("listen 80;", f"listen 127.0.0.1:{port};")))
    (prefix / "nginx.conf").write_text(nginx_main_config(site, prefix))
    proc = spawn("nginx", [binary, "-p", str(prefix), "-c", str(prefix / "nginx.conf")])
    with _running(proc, port, prefix) as base:
        yield base


@contextlib.contextmanager
def caddy(upstream: str, config: str = "Caddyfile.host") -> Iterator[str]:
    """Debian's caddy on a free port with deploy/`config`, plain HTTP; yields its base URL."""
    binary = shutil.which("caddy") or "/usr/bin/caddy"
    home = Path(tempfile.mkdtemp(prefix="np-caddy-"))
    port = free_port()
    text = (DEPLOY / config).read_text()
    site = local_site(text, upstream, (SITE, f"http://127.0.0.1:{port}"))
    path = home / "Caddyfile"
    path.write_text("{\n\tadmin off\n}\n" + site)
    env = {"HOME": str(home), "XDG_DATA_HOME": str(home), "XDG_CONFIG_HOME": str(home)}
    proc = spawn("caddy", [binary, "run", "--config", str(path), "--adapter", "caddyfile"], env)
    with _running(proc, port, home) as base:
        yield base


# In the page: an EventSource on the proxy, recording each event's arrival (ms epoch).
LISTEN_JS = """() => {
    window.arrivals = [];
    const source = new EventSource('/api/stream');
    source.addEventListener('now-playing', (e) => {
        window.arrivals.push({id: Number(e.lastEventId), at: Date.now()});
    });
}"""


def arrival_js(version: int) -> str:
    """The arrival time of the first event at or above `version` (null until it came)."""
    return f"(window.arrivals.find((a) => a.id >= {version}) || {{at: null}}).at"


async def event_delays(
    page: Any,
    base: str,
    change: Callable[[], Awaitable[int]],
    changes: int,
    timeout_s: float = 10.0,
) -> tuple[float, list[float]]:
    """Seconds to the initial event, then seconds from each `change()` to its arrival.

    `page` is a Playwright page in Chromium, which sends `Accept-Encoding: gzip` as every
    browser does: that is what makes a compressing proxy matter. `change()` publishes and
    returns the new version; the stream's own extra events (a stale flip) are skipped.
    """
    await page.goto(base + "/healthz")
    opened = time.time()
    await page.evaluate(LISTEN_JS)
    await page.wait_for_function(f"{arrival_js(0)} !== null", timeout=timeout_s * 1000)
    first: float = await page.evaluate(arrival_js(0))
    delays = []
    for _ in range(changes):
        sent = time.time()
        version = await change()
        await page.wait_for_function(f"{arrival_js(version)} !== null", timeout=timeout_s * 1000)
        arrived: float = await page.evaluate(arrival_js(version))
        delays.append(arrived / 1000 - sent)
    return first / 1000 - opened, delays


def without_identity(app: ASGIApp) -> ASGIApp:
    """The app as it was before it sent `Content-Encoding: identity` (to test a proxy alone)."""

    async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
        async def strip(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [h for h in message["headers"] if h[0] != b"content-encoding"]
                message = {**message, "headers": headers}
            await send(message)

        await app(scope, receive, strip)

    return wrapped


def song(name: str) -> Song:
    """A song as large as a real one (over Caddy's 512-byte `minimum_length`)."""
    sizes = (640, 300, 64)
    art = [f"https://i.scdn.co/image/ab67616d0000b273{size:04d}{'0' * 20}" for size in sizes]
    return {
        "isPlaying": True,
        "source": "current",
        "type": "track",
        "id": "4uLU6hMCjMI75M1A2tKUQC",
        "name": name,
        "artists": ["Rick Astley"],
        "album": "Whenever You Need Somebody",
        "albumImageUrl": art[1],
        "images": [
            {"url": url, "width": w, "height": w} for url, w in zip(art, sizes, strict=True)
        ],
        "spotifyUrl": "https://open.spotify.com/track/4uLU6hMCjMI75M1A2tKUQC",
        "previewUrl": None,
        "durationMs": 213_573,
        "progressMs": 1_000,
        "progressAt": int(time.time() * 1000),
        "playedAt": None,
        "explicit": False,
        "provider": "spotify",
        "url": "https://open.spotify.com/track/4uLU6hMCjMI75M1A2tKUQC",
    }


@contextlib.asynccontextmanager
async def serve(app: ASGIApp) -> AsyncIterator[str]:
    """Real uvicorn on a loopback socket in this event loop; yields its base URL."""
    import uvicorn

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_config=None, access_log=False))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        await asyncio.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        with contextlib.suppress(TimeoutError, asyncio.CancelledError):
            await asyncio.wait_for(task, 5)
        sock.close()


Row = tuple[str, list[str]]


def available() -> str | None:
    """None when nginx, caddy and chromium are all on PATH, else what is missing."""
    missing = [tool for tool in ("nginx", "caddy", "chromium") if shutil.which(tool) is None]
    return ", ".join(missing) or None


async def measure(changes: int) -> list[Row]:
    """Delays through no proxy, nginx and Caddy, side by side in one run, in Chromium."""
    import fakeredis
    from playwright.async_api import async_playwright

    from shared.config import Settings
    from shared.store import Store
    from web.app import build_app
    from web.runtime import WebRuntime

    store = Store(fakeredis.FakeAsyncRedis(), "bench")
    counter = iter(range(1_000_000))

    async def change() -> int:
        doc = await store.publish(
            song(f"Track {next(counter)}"), stale=False, demo=False, now_ms=int(time.time() * 1000)
        )
        return doc["version"]

    await change()
    settings = Settings(redis_prefix="bench")
    rows: list[Row] = []
    async with (
        serve(build_app(WebRuntime(settings, store))) as app,
        serve(without_identity(build_app(WebRuntime(settings, store)))) as bare,
        async_playwright() as p,
    ):
        chromium = shutil.which("chromium") or "chromium"
        browser = await p.chromium.launch(executable_path=chromium, args=["--headless"])
        up, bare_up = app.removeprefix("http://"), bare.removeprefix("http://")
        cases: list[tuple[str, Callable[[], contextlib.AbstractContextManager[str]]]] = [
            ("direct, no proxy", lambda: contextlib.nullcontext(app)),
            ("nginx gzip (deploy/nginx.conf)", lambda: nginx(up)),
            ("nginx gzip, app without the header", lambda: nginx(bare_up)),
            ("caddy encode gzip (deploy/Caddyfile.host)", lambda: caddy(up)),
            ("caddy, stream excluded (Caddyfile.strict)", lambda: caddy(up, "Caddyfile.strict")),
            (
                "Caddyfile.strict, app without the header",
                lambda: caddy(bare_up, "Caddyfile.strict"),
            ),
            ("caddy encode gzip, app without the header", lambda: caddy(bare_up)),
        ]
        for name, proxy in cases:
            page = await browser.new_page()
            try:
                with proxy() as base:
                    first, delays = await event_delays(page, base, change, changes, 5.0)
                figures = [f"{first * 1000:.0f} ms", f"{median(delays) * 1000:.1f} ms"]
                rows.append((name, [*figures, f"{max(delays) * 1000:.1f} ms"]))
            except Exception as exc:  # Playwright's TimeoutError: nothing arrived in 5 s
                rows.append((name, [f"none within 5 s ({type(exc).__name__})", "", ""]))
            await page.close()
        await browser.close()
    return rows


def section(rows: list[Row], changes: int) -> str:
    """The BENCHMARKS.md section: the table and what its columns and last row mean."""
    lines = [
        "## SSE through reverse proxies",
        "",
        f"Command: `python -m bench.proxies --changes {changes}`",
        "",
        "| path (Chromium EventSource, gzip accepted) | initial event "
        "| change, median | change, max |",
        "|---|---:|---:|---:|",
        *(f"| {name} | {' | '.join(figures)} |" for name, figures in rows),
        "",
        '"initial event": from opening the EventSource to its first event (connection setup',
        'included). "change": from publishing a new version to its arrival in the page. Each',
        "proxy runs the file from `deploy/` that docs/DEPLOY.md shows, with compression on.",
        'The rows "app without the header" serve the stream without its',
        "`Content-Encoding: identity`: Caddy 2.6's `encode gzip` then holds the stream",
        "(caddyserver/caddy#6293), which is what the header fixes.",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--changes", type=int, default=20)
    count = parser.parse_args().changes
    print(section(asyncio.run(measure(count)), count))
