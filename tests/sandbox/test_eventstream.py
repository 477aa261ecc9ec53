"""The event stream encoder against botocore's own decoder and event-stream parser."""

from __future__ import annotations

import base64
import binascii
import json

import botocore.session
import pytest
from botocore.eventstream import ChecksumMismatch, EventStream, EventStreamBuffer
from botocore.exceptions import EventStreamError
from botocore.parsers import EventStreamJSONParser

from bedrockctl.sandbox.eventstream import encode_error, encode_event, encode_exception, encode_message


def _decode(data: bytes) -> list:
    buf = EventStreamBuffer()
    buf.add_data(data)
    return list(buf)


def test_event_round_trips_through_botocore_decoder() -> None:
    raw = encode_event("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": "héllo ✓"}})
    (msg,) = _decode(raw)
    assert msg.headers == {
        ":event-type": "contentBlockDelta",
        ":content-type": "application/json",
        ":message-type": "event",
    }
    assert json.loads(msg.payload) == {"contentBlockIndex": 0, "delta": {"text": "héllo ✓"}}
    assert msg.prelude.total_length == len(raw)


def test_exception_and_error_headers() -> None:
    exc, err = _decode(encode_exception("throttlingException", "slow down") + encode_error("Boom", "bad"))
    assert exc.headers[":message-type"] == "exception"
    assert exc.headers[":exception-type"] == "throttlingException"
    assert json.loads(exc.payload) == {"message": "slow down"}
    assert err.headers == {":error-code": "Boom", ":error-message": "bad", ":message-type": "error"}


def test_crc_is_checked_by_the_decoder() -> None:
    raw = bytearray(encode_message({"a": "b"}, b"payload"))
    raw[-5] ^= 0xFF  # flip a payload byte
    with pytest.raises(ChecksumMismatch):
        _decode(bytes(raw))
    good = encode_message({"a": "b"}, b"payload")
    assert int.from_bytes(good[8:12], "big") == binascii.crc32(good[:8])


class _Raw:
    """A urllib3-like raw body that yields our bytes in small pieces, as a socket would."""

    def __init__(self, data: bytes) -> None:
        self._data = data

    def stream(self, amt: int = 1024):
        for i in range(0, len(self._data), 7):
            yield self._data[i : i + 7]


def _stream_shape(service: str, operation: str, member: str):
    model = botocore.session.get_session().get_service_model(service)
    return model.operation_model(operation).output_shape.members[member]


def test_converse_stream_events_parse_with_the_real_botocore_model() -> None:
    data = b"".join(
        [
            encode_event("messageStart", {"role": "assistant"}),
            encode_event("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": "Hi"}}),
            encode_event("contentBlockStop", {"contentBlockIndex": 0}),
            encode_event("messageStop", {"stopReason": "end_turn"}),
            encode_event(
                "metadata",
                {"usage": {"inputTokens": 3, "outputTokens": 1, "totalTokens": 4}, "metrics": {"latencyMs": 5}},
            ),
        ]
    )
    stream = EventStream(
        _Raw(data),
        _stream_shape("bedrock-runtime", "ConverseStream", "stream"),
        EventStreamJSONParser(),
        "ConverseStream",
    )
    events = list(stream)
    assert events[0] == {"messageStart": {"role": "assistant"}}
    assert events[1]["contentBlockDelta"]["delta"] == {"text": "Hi"}
    assert events[-1]["metadata"]["usage"]["totalTokens"] == 4


def test_chunk_bytes_and_in_stream_exception_parse() -> None:
    payload = base64.b64encode(b'{"type":"message_stop"}').decode()
    data = encode_event("chunk", {"bytes": payload}) + encode_exception("throttlingException", "Too many")
    stream = EventStream(
        _Raw(data),
        _stream_shape("bedrock-runtime", "InvokeModelWithResponseStream", "body"),
        EventStreamJSONParser(),
        "InvokeModelWithResponseStream",
    )
    events = iter(stream)
    assert next(events) == {"chunk": {"bytes": b'{"type":"message_stop"}'}}
    with pytest.raises(EventStreamError) as info:
        next(events)
    assert info.value.response["Error"] == {"Code": "throttlingException", "Message": "Too many"}
