"""Encoder for ``application/vnd.amazon.eventstream``, the framing AWS uses for streaming responses.

Wire format of one message (all integers big-endian)::

    total_length:u32  headers_length:u32  prelude_crc:u32   <- prelude (CRC32 of the first 8 bytes)
    headers...                                              <- name_len:u8 name type:u8 value
    payload...
    message_crc:u32                                         <- CRC32 of everything before it

Only the header types AWS uses on these streams are written: string (type 7, u16 length + UTF-8).
Event messages carry ``:event-type``, ``:content-type`` and ``:message-type`` = ``event``; modelled
exceptions carry ``:exception-type`` and ``:message-type`` = ``exception``; unmodelled errors carry
``:error-code`` / ``:error-message`` and ``:message-type`` = ``error``.
"""

from __future__ import annotations

import binascii
import json
import struct
from collections.abc import Mapping
from typing import Any

CONTENT_TYPE = "application/vnd.amazon.eventstream"
_STRING = 7
_PRELUDE = struct.Struct(">II")
_CRC = struct.Struct(">I")
_MAX_HEADER_VALUE = 32767


def _encode_headers(headers: Mapping[str, str]) -> bytes:
    out = bytearray()
    for name, value in headers.items():
        raw_name = name.encode("utf-8")
        raw_value = value.encode("utf-8")
        if len(raw_name) > 255 or len(raw_value) > _MAX_HEADER_VALUE:
            raise ValueError(f"event stream header too long: {name}")
        out += struct.pack(">B", len(raw_name)) + raw_name
        out += struct.pack(">BH", _STRING, len(raw_value)) + raw_value
    return bytes(out)


def encode_message(headers: Mapping[str, str], payload: bytes) -> bytes:
    """Frame one event stream message with both CRCs."""
    raw_headers = _encode_headers(headers)
    total = _PRELUDE.size + _CRC.size + len(raw_headers) + len(payload) + _CRC.size
    prelude = _PRELUDE.pack(total, len(raw_headers))
    prelude += _CRC.pack(binascii.crc32(prelude) & 0xFFFFFFFF)
    body = prelude + raw_headers + payload
    return body + _CRC.pack(binascii.crc32(body) & 0xFFFFFFFF)


def _json(payload: Any) -> bytes:
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def encode_event(event_type: str, payload: Mapping[str, Any]) -> bytes:
    """An ``event`` message whose JSON payload holds the members of the event shape ``event_type``."""
    return encode_message(
        {":event-type": event_type, ":content-type": "application/json", ":message-type": "event"},
        _json(payload),
    )


def encode_exception(exception_type: str, message: str, **extra: Any) -> bytes:
    """A modelled in-stream exception (``throttlingException``, ``modelStreamErrorException`` ...)."""
    return encode_message(
        {
            ":exception-type": exception_type,
            ":content-type": "application/json",
            ":message-type": "exception",
        },
        _json({"message": message, **extra}),
    )


def encode_error(code: str, message: str) -> bytes:
    """An unmodelled in-stream error (``:message-type`` ``error``)."""
    return encode_message({":error-code": code, ":error-message": message, ":message-type": "error"}, b"")
