"""Bad input of every kind gets a 4xx or the normal answer, never a 5xx, never a crash;
bad configuration exits 2 with one line that names the variable."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from urllib.parse import quote

import fakeredis
import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared.config import Settings
from shared.store import Store
from tests.conftest import RedisServer
from tests.reliability.conftest import ADMIN_TOKEN, Stack, running_stack
from tests.webutil import web_client
from web.app import WebRuntime
from web.routes import PATHS as KNOWN_ROUTES

ROUTES = [*sorted(KNOWN_ROUTES), "/static/x.css", "/nothing-here"]
HEADER_NAMES = [
    "If-None-Match",
    "Last-Event-ID",
    "Origin",
    "Accept",
    "Accept-Encoding",
    "Cookie",
    "Range",
    "Authorization",
    "X-Forwarded-For",
    "Access-Control-Request-Method",
]
# What an HTTP header value can carry on the wire (latin-1, no CR/LF).
header_values = st.text(
    st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\x7f"),
    max_size=200,
)
# Any text, percent-encoded the way a browser sends it, except that `=&%;+` stay raw so
# that broken escapes (`%`, `%f`, `%ff`: not UTF-8) and odd separators get through.
query_strings = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=200).map(
    lambda s: quote(s, safe="=&%;+/?:@,").encode("ascii")
)


@pytest.fixture
async def app_client() -> AsyncIterator[httpx.AsyncClient]:
    store = Store(fakeredis.FakeAsyncRedis(), "fuzz")
    # A live poller's heartbeat (good for the whole run), so /readyz's normal answer is 200.
    await store.write_heartbeat({"at": int(time.time() * 1000) + 600_000, "state": "ok"})
    runtime = WebRuntime(Settings(redis_prefix="fuzz", admin_token=ADMIN_TOKEN), store)
    async with web_client(runtime, base_url="http://fuzz") as client:
        yield client
    await runtime.http.aclose()


@settings(
    max_examples=400,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    route=st.sampled_from(ROUTES),
    method=st.sampled_from(["GET", "HEAD", "POST", "OPTIONS", "DELETE"]),
    query=query_strings,
    headers=st.dictionaries(st.sampled_from(HEADER_NAMES), header_values, max_size=4),
)
async def test_fuzzed_queries_and_headers_never_get_a_5xx(
    app_client: httpx.AsyncClient,
    route: str,
    method: str,
    query: bytes,
    headers: dict[str, str],
) -> None:
    if route == "/api/stream" and method == "GET":
        method = "HEAD"  # a GET streams forever; HEAD runs the same code up to the stream
    url = httpx.URL(f"http://fuzz{route}").copy_with(query=query)
    encoded = [(k.encode(), v.encode("latin-1")) for k, v in headers.items()]
    response = await app_client.request(method, url, headers=encoded)
    assert response.status_code < 500, (route, method, query, headers, response.text[:200])


@pytest.fixture
async def stack(redis_server: RedisServer) -> AsyncIterator[Stack]:
    async with running_stack(redis_server) as running:
        yield running


async def raw_status(port: int, request: bytes) -> int:
    """Send raw bytes to the web process; the status code of its answer."""

    def exchange() -> int:
        with socket.create_connection(("127.0.0.1", port), 5) as sock:
            sock.sendall(request)
            head = b""
            while b"\r\n" not in head:
                chunk = sock.recv(4096)
                if not chunk:
                    break
                head += chunk
        return int(head[9:12])

    return await asyncio.to_thread(exchange)


@pytest.mark.parametrize(
    "last_event_id", ["9" * 1000, "abc", "-1", "1e9", "٣", "0x10", " ", "18446744073709551617"]
)
async def test_odd_last_event_ids_get_the_current_document(
    stack: Stack, last_event_id: str
) -> None:
    request = (
        f"GET /api/stream HTTP/1.1\r\nHost: x\r\nLast-Event-ID: {last_event_id}\r\n\r\n".encode()
    )

    def first_event() -> bytes:
        with socket.create_connection(("127.0.0.1", stack.web_port), 5) as sock:
            sock.sendall(request)
            data = b""
            while b"data: " not in data:
                chunk = sock.recv(65536)
                assert chunk, data
                data += chunk
            return data

    data = await asyncio.to_thread(first_event)
    assert data.startswith(b"HTTP/1.1 200") and b"event: now-playing" in data


@pytest.mark.parametrize(
    "value", ['"', '""",,,W/', "W/", "*,*", '"np-1-2"' * 500, "\xff\xfe", ",,,,"]
)
async def test_malformed_if_none_match_gets_the_document(stack: Stack, value: str) -> None:
    request = (
        f"GET /api/now-playing HTTP/1.1\r\nHost: x\r\nIf-None-Match: {value}\r\n\r\n"
    ).encode("latin-1")
    assert await raw_status(stack.web_port, request) in (200, 304)


@pytest.mark.parametrize(
    "path", [b"/\xff\xfe", b"/api/now-playing\xc3\x28", b"/api/%ff%fe", b"/embed.svg?theme=\xff"]
)
async def test_bytes_that_are_not_utf8_in_the_path_get_a_4xx_or_the_page(
    stack: Stack, path: bytes
) -> None:
    status = await raw_status(stack.web_port, b"GET " + path + b" HTTP/1.1\r\nHost: x\r\n\r\n")
    assert status < 500
    assert (await stack.get("/healthz")).status_code == 200 and stack.alive()


@pytest.mark.parametrize(
    ("command", "variable", "value"),
    [
        ("web", "POLL_INTERVAL", "abc"),
        ("poller", "POLL_INTERVAL", "abc"),
        ("run", "POLL_INTERVAL", "abc"),
        ("web", "REDIS_URL", "ftp://x"),
        ("poller", "REDIS_URL", "ftp://x"),
        ("run", "REDIS_URL", "ftp://x"),
    ],
)
def test_bad_configuration_exits_2_with_one_line_naming_the_variable(
    command: str, variable: str, value: str, tmp_path: object
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SPOTIFY_", "REDIS_"))}
    env |= {variable: value, "SPOTIFY_CLIENT_ID": "id", "SPOTIFY_CLIENT_SECRET": "secret-xyz1"}
    done = subprocess.run(
        [sys.executable, "-m", "nowplaying.cli", command],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        cwd=str(tmp_path),
    )
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and variable in lines[0], done.stderr
    assert "secret-xyz1" not in done.stderr + done.stdout
