"""Raw-socket HTTP/1.1 drivers for what wrk cannot measure: time to first token (first body byte of a streamed
response, sequential, keep-alive) and many streams held open at once (for the memory figure).

A request is (path, body, headers); responses are read just far enough: the status line and headers, then the
first body bytes. Kept tiny on purpose so that the driver's own cost stays far below the servers'.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from dataclasses import dataclass


@dataclass
class Req:
    path: str
    body: bytes
    headers: dict[str, str]

    def wire(self, host: str, keep_alive: bool = True) -> bytes:
        head = [f"POST {self.path} HTTP/1.1", f"Host: {host}", f"Content-Length: {len(self.body)}"]
        head += [f"{k}: {v}" for k, v in self.headers.items()]
        head.append("Connection: keep-alive" if keep_alive else "Connection: close")
        return ("\r\n".join(head) + "\r\n\r\n").encode() + self.body


async def _head(reader: asyncio.StreamReader) -> tuple[int, dict[str, str], bytes]:
    raw = await reader.readuntil(b"\r\n\r\n")
    lines = raw.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            k, v = line.split(":", 1)
            headers[k.strip().lower()] = v.strip()
    return status, headers, raw


async def _drain_body(reader: asyncio.StreamReader, headers: dict[str, str]) -> None:
    if "content-length" in headers:
        await reader.readexactly(int(headers["content-length"]))
        return
    while True:  # chunked
        size_line = await reader.readuntil(b"\r\n")
        size = int(size_line.split(b";")[0], 16)
        await reader.readexactly(size + 2)
        if size == 0:
            return


async def _first_body_byte(reader: asyncio.StreamReader, headers: dict[str, str]) -> bytes:
    if "content-length" in headers:
        return await reader.readexactly(1)
    size_line = await reader.readuntil(b"\r\n")  # chunked: the first chunk's size line, then its first byte
    if int(size_line.split(b";")[0], 16) == 0:
        raise RuntimeError("empty streamed response")
    return await reader.readexactly(1)


async def ttft(port: int, req: Req, n: int, warmup: int = 20) -> dict[str, float]:
    """Sequential streamed requests on one keep-alive connection: time from the request's last byte written to
    the first body byte (ms); the rest of each response is drained before the next request."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    data = req.wire(f"127.0.0.1:{port}")
    samples = []
    errors = 0
    for i in range(n + warmup):
        writer.write(data)
        t0 = time.perf_counter()
        status, headers, _ = await _head(reader)
        if status != 200:
            errors += 1
            await _drain_body(reader, headers)
            continue
        if "content-length" in headers:
            body_first = await reader.readexactly(1)
            t1 = time.perf_counter()
            await reader.readexactly(int(headers["content-length"]) - len(body_first))
        else:
            size_line = await reader.readuntil(b"\r\n")
            size = int(size_line.split(b";")[0], 16)
            await reader.readexactly(1)
            t1 = time.perf_counter()
            await reader.readexactly(size - 1 + 2)
            if size:
                while True:
                    size_line = await reader.readuntil(b"\r\n")
                    size = int(size_line.split(b";")[0], 16)
                    await reader.readexactly(size + 2)
                    if size == 0:
                        break
        if i >= warmup:
            samples.append((t1 - t0) * 1000)
    writer.close()
    samples.sort()
    return {
        "p50": statistics.median(samples) if samples else float("nan"),
        "p99": samples[int(len(samples) * 0.99) - 1] if samples else float("nan"),
        "n": len(samples),
        "errors": errors,
    }


class OpenStreams:
    """``count`` streamed requests held open until ``close``: each has received its first body byte, or (a
    server that holds the first events back) is still open, unanswered, ``first_byte_timeout`` seconds after
    it was sent (counted in ``pending``)."""

    def __init__(self, port: int, req: Req, first_byte_timeout: float = 10.0) -> None:
        self.port = port
        self.req = req
        self.timeout = first_byte_timeout
        self.writers: list[asyncio.StreamWriter] = []
        self.failed = 0
        self.pending = 0

    async def _one(self) -> None:
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
            writer.write(self.req.wire(f"127.0.0.1:{self.port}", keep_alive=False))
        except OSError:
            self.failed += 1
            return
        try:
            async with asyncio.timeout(self.timeout):
                status, headers, _ = await _head(reader)
                if status != 200:
                    self.failed += 1
                    writer.close()
                    return
                await _first_body_byte(reader, headers)
            self.writers.append(writer)
        except TimeoutError:
            if reader.at_eof():
                self.failed += 1
            else:
                self.pending += 1
                self.writers.append(writer)
        except (OSError, asyncio.IncompleteReadError, RuntimeError):
            self.failed += 1

    async def open(self, count: int) -> None:
        await asyncio.gather(*(self._one() for _ in range(count)))

    async def close(self) -> None:
        for w in self.writers:
            w.close()
        self.writers.clear()
        await asyncio.sleep(0.5)
