"""A fake Bedrock runtime far cheaper than any gateway: an asyncio protocol on uvloop answering precomputed bytes.

POST /model/<id>/converse -> Converse JSON; /converse-stream -> an eventstream (``--hold`` seconds between the
first event and the rest, to keep streams open for the memory measurement; ``POST /__hold/<seconds>`` changes it
at run time). Keep-alive, no parsing beyond Content-Length. Usage: python fake_upstream.py --port 9101 [--hold 0]
"""

from __future__ import annotations

import argparse
import asyncio
import json

from bedrockctl.sandbox.eventstream import encode_event

REPLY = {
    "output": {"message": {"role": "assistant", "content": [{"text": "Hello from the fake upstream."}]}},
    "stopReason": "end_turn",
    "usage": {"inputTokens": 12, "outputTokens": 8, "totalTokens": 20},
    "metrics": {"latencyMs": 1},
}
BODY = json.dumps(REPLY).encode()
CONVERSE = (
    b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nx-amzn-requestid: 00000000-0000-0000-0000-"
    b"000000000000\r\ncontent-length: " + str(len(BODY)).encode() + b"\r\n\r\n" + BODY
)
FIRST = encode_event("messageStart", {"role": "assistant"}) + encode_event(
    "contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": "Hello"}}
)
REST = b"".join(
    [
        *[
            encode_event("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": f" word{i}"}})
            for i in range(7)
        ],
        encode_event("contentBlockStop", {"contentBlockIndex": 0}),
        encode_event("messageStop", {"stopReason": "end_turn"}),
        encode_event(
            "metadata",
            {"usage": {"inputTokens": 12, "outputTokens": 8, "totalTokens": 20}, "metrics": {"latencyMs": 1}},
        ),
    ]
)
STREAM_HEAD = (
    b"HTTP/1.1 200 OK\r\ncontent-type: application/vnd.amazon.eventstream\r\n"
    b"x-amzn-requestid: 00000000-0000-0000-0000-000000000001\r\ntransfer-encoding: chunked\r\n\r\n"
)


def chunk(data: bytes) -> bytes:
    return f"{len(data):x}\r\n".encode() + data + b"\r\n"


class Upstream(asyncio.Protocol):
    hold = 0.0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.t = transport
        self.buf = b""

    def data_received(self, data: bytes) -> None:
        self.buf += data
        while True:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                return
            head = self.buf[:end]
            length = 0
            for line in head.split(b"\r\n")[1:]:
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            if len(self.buf) < end + 4 + length:
                return
            self.buf = self.buf[end + 4 + length :]
            path = head.split(b" ", 2)[1]
            if path.startswith(b"/__hold/"):  # control: hold streams open for N seconds (0: answer at once)
                Upstream.hold = float(path[8:])
                self.t.write(b"HTTP/1.1 204 No Content\r\n\r\n")  # type: ignore[attr-defined]
            elif path.endswith(b"/converse-stream"):
                if self.hold:
                    self.t.write(STREAM_HEAD + chunk(FIRST))  # type: ignore[attr-defined]
                    asyncio.get_running_loop().call_later(self.hold, self._rest)
                else:
                    self.t.write(STREAM_HEAD + chunk(FIRST) + chunk(REST) + b"0\r\n\r\n")  # type: ignore[attr-defined]
            else:
                self.t.write(CONVERSE)  # type: ignore[attr-defined]

    def _rest(self) -> None:
        if not self.t.is_closing():
            self.t.write(chunk(REST) + b"0\r\n\r\n")  # type: ignore[attr-defined]


async def main(port: int, hold: float) -> None:
    Upstream.hold = hold
    server = await asyncio.get_running_loop().create_server(Upstream, "127.0.0.1", port, backlog=4096)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    import uvloop

    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, default=9101)
    p.add_argument("--hold", type=float, default=0.0)
    a = p.parse_args()
    uvloop.run(main(a.port, a.hold))
