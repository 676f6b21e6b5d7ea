"""An SSE load client on raw asyncio sockets: thousands of streams in one process.

Each connection is a bare `asyncio.Protocol` that notes, for every event id it sees, the
moment the bytes arrived; nothing else is parsed. That keeps the client's own cost per
event to a few microseconds, so the latency measured is mostly the server's.
"""

from __future__ import annotations

import asyncio
import re
import socket
import struct
import time
from collections.abc import Sequence
from dataclasses import dataclass

ID_LINE = re.compile(rb"(?:^|\n)id: (\d+)")
LINGER_RST = struct.pack("ii", 1, 0)


class SSEConnection(asyncio.Protocol):
    """One stream. `seen` maps each event id to the perf_counter() time it arrived."""

    def __init__(self, request: bytes) -> None:
        self.request = request
        self.transport: asyncio.BaseTransport | None = None
        self.status: int | None = None
        self.head = b""
        self.seen: dict[int, float] = {}
        self.pings = 0
        self.closed = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport
        transport.write(self.request)  # type: ignore[attr-defined]

    def data_received(self, data: bytes) -> None:
        now = time.perf_counter()
        if self.status is None:
            self.head += data
            end = self.head.find(b"\r\n\r\n")
            if end < 0:
                return
            self.status = int(self.head[9:12])
            data, self.head = self.head[end + 4 :], b""
        # Frames are small and each arrives in one write; an id split across two reads
        # would only be missed, which the caller sees as a lost delivery.
        for match in ID_LINE.finditer(data):
            self.seen.setdefault(int(match.group(1)), now)
        if b": ping" in data:
            self.pings += 1

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.closed.done():
            self.closed.set_result(None)

    def close(self) -> None:
        """Reset rather than FIN: 10,000 TIME_WAIT sockets per run would use up the ports."""
        if self.transport is not None and not self.transport.is_closing():
            sock = self.transport.get_extra_info("socket")
            if sock is not None:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, LINGER_RST)
            self.transport.close()


def request_bytes(host: str, port: int, path: str, last_event_id: int | None = None) -> bytes:
    lines = [
        f"GET {path} HTTP/1.1",
        f"Host: {host}:{port}",
        "Accept: text/event-stream",
        "Cache-Control: no-cache",
    ]
    if last_event_id is not None:
        lines.append(f"Last-Event-ID: {last_event_id}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


@dataclass
class Crowd:
    """Many open streams to one URL."""

    connections: list[SSEConnection]
    failed: int
    connect_s: float

    def close(self) -> None:
        for connection in self.connections:
            connection.close()

    def arrival(self, version: int) -> list[float]:
        return [c.seen[version] for c in self.connections if version in c.seen]


async def open_crowd(
    host: str,
    port: int,
    path: str,
    count: int,
    *,
    parallel: int = 256,
    timeout_s: float = 60.0,
) -> Crowd:
    """Open `count` streams, at most `parallel` handshakes at once; `connect_s` is the time
    until every stream has received its first event."""
    loop = asyncio.get_running_loop()
    request = request_bytes(host, port, path)
    gate = asyncio.Semaphore(parallel)
    connections: list[SSEConnection] = []
    failed = 0

    async def one() -> None:
        nonlocal failed
        async with gate:
            try:
                _, protocol = await loop.create_connection(
                    lambda: SSEConnection(request), host, port
                )
            except OSError:
                failed += 1
                return
            connections.append(protocol)
            deadline = time.perf_counter() + timeout_s
            while not protocol.seen and time.perf_counter() < deadline:
                if protocol.closed.done():
                    break
                await asyncio.sleep(0.005)

    start = time.perf_counter()
    await asyncio.gather(*(one() for _ in range(count)))
    connect_s = time.perf_counter() - start
    failed += sum(1 for c in connections if not c.seen)
    return Crowd(connections, failed, connect_s)


async def wait_delivered(crowd: Crowd, version: int, timeout_s: float) -> int:
    """Wait until every open stream has seen `version` (or the timeout); how many did."""
    deadline = time.perf_counter() + timeout_s
    alive: Sequence[SSEConnection] = [c for c in crowd.connections if c.seen]
    while time.perf_counter() < deadline:
        if all(version in c.seen for c in alive):
            break
        await asyncio.sleep(0.01)
    return sum(1 for c in alive if version in c.seen)
