"""An SSE load client on raw sockets in an asyncio loop: thousands of streams, one process.

Each stream is a bare non-blocking socket with a reader callback. Arrival times come from
the kernel (SO_TIMESTAMPNS: when the bytes reached the client's socket), not from when
this process got round to reading them, so a busy load client does not pass its own lag
off as the server's. Times are seconds on the wall clock (time.time()).
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import socket
import struct
import time
from dataclasses import dataclass

ID_LINE = re.compile(rb"(?:^|\n)id: (\d+)")
LINGER_RST = struct.pack("ii", 1, 0)
SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)  # Linux; Python does not name it
TIMESPEC = struct.Struct("qq")


class SSEConnection:
    """One stream. `seen` maps each event id to the wall-clock time it arrived."""

    def __init__(self, sock: socket.socket, loop: asyncio.AbstractEventLoop) -> None:
        self.sock = sock
        self.loop = loop
        self.status: int | None = None
        self.head = b""
        self.seen: dict[int, float] = {}
        self.pings = 0
        self.reading = False
        self.closed: asyncio.Future[None] = loop.create_future()

    def start_reading(self) -> None:
        if not self.reading and not self.closed.done():
            self.loop.add_reader(self.sock.fileno(), self._readable)
            self.reading = True

    def stop_reading(self) -> None:
        """Like a client that stops reading: the server's writes pile up in the buffers."""
        if self.reading:
            self.loop.remove_reader(self.sock.fileno())
            self.reading = False

    def _readable(self) -> None:
        try:
            data, ancillary, _, _ = self.sock.recvmsg(65536, 64)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            self._lost()
            return
        if not data:
            self._lost()
            return
        at = time.time()
        for level, kind, value in ancillary:
            if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS:
                seconds, nanos = TIMESPEC.unpack_from(value)
                at = seconds + nanos / 1e9
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
            self.seen.setdefault(int(match.group(1)), at)
        if b": ping" in data:
            self.pings += 1

    def _lost(self) -> None:
        self.stop_reading()
        if not self.closed.done():
            self.closed.set_result(None)

    def close(self, reset: bool = True) -> None:
        """Reset by default: 10,000 TIME_WAIT sockets per run would use up the ports."""
        self._lost()
        with contextlib.suppress(OSError):
            if reset:
                self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, LINGER_RST)
            self.sock.close()


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


async def connect(host: str, port: int, request: bytes) -> SSEConnection:
    """Open one stream and start reading it."""
    loop = asyncio.get_running_loop()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setblocking(False)
    sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
    try:
        await loop.sock_connect(sock, (host, port))
        await loop.sock_sendall(sock, request)
    except OSError:
        sock.close()
        raise
    connection = SSEConnection(sock, loop)
    connection.start_reading()
    return connection


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
    request = request_bytes(host, port, path)
    gate = asyncio.Semaphore(parallel)
    connections: list[SSEConnection] = []
    failed = 0

    async def one() -> None:
        nonlocal failed
        async with gate:
            try:
                connection = await connect(host, port, request)
            except OSError:
                failed += 1
                return
            connections.append(connection)
            deadline = time.monotonic() + timeout_s
            while not connection.seen and time.monotonic() < deadline:
                if connection.closed.done():
                    break
                await asyncio.sleep(0.005)

    start = time.monotonic()
    await asyncio.gather(*(one() for _ in range(count)))
    connect_s = time.monotonic() - start
    failed += sum(1 for c in connections if not c.seen)
    return Crowd(connections, failed, connect_s)


async def wait_delivered(crowd: Crowd, version: int, timeout_s: float) -> int:
    """Wait until every open stream has seen `version` (or the timeout); how many did."""
    deadline = time.monotonic() + timeout_s
    alive = [c for c in crowd.connections if c.seen]
    while time.monotonic() < deadline:
        if all(version in c.seen for c in alive):
            break
        await asyncio.sleep(0.02)
    return sum(1 for c in alive if version in c.seen)
