"""The caller, stamped on every model call the gateway sends, so that AWS's own records name people.

Calls through the gateway run under the gateway's AWS identity; without more, invocation logs (and every report
built from them alone) attribute them to the gateway's role. Converse bodies get ``requestMetadata`` where the
routes parse them (``KeyRecord.tag``); InvokeModel calls (the Bedrock route and the Messages API) get the same pairs
in the ``X-Amzn-Bedrock-Request-Metadata`` header (a JSON object, merged over the caller's own header): here, once,
for every protocol. The reports read them back: ``--by user`` (``gateway_user``), ``team``, ``tag:environment``,
``tag:gateway_key``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import orjson

from bedrockctl.runtime.resolve import Target
from bedrockctl.runtime.wire import WireRequest
from bedrockctl.store.keys import KeyRecord

HEADER = "X-Amzn-Bedrock-Request-Metadata"


def stamped(key: KeyRecord, build: Callable[[Target], WireRequest]) -> Callable[[Target], WireRequest]:
    """``build`` whose InvokeModel requests carry the key's request metadata."""

    def stamp(target: Target) -> WireRequest:
        req = build(target)
        if not req.operation.startswith("InvokeModel"):
            return req
        named = {k.lower(): k for k in req.headers}
        given = req.headers.get(named.get(HEADER.lower(), ""))
        headers = {k: v for k, v in req.headers.items() if k.lower() != HEADER.lower()}
        headers[HEADER] = orjson.dumps(key.request_metadata(_caller(given))).decode()
        return dataclasses.replace(req, headers=headers)

    return stamp


def _caller(value: str | None) -> Any:
    if not value:
        return None
    try:
        return orjson.loads(value)
    except orjson.JSONDecodeError:
        return None
