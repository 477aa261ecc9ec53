"""The gateway's other AWS-shaped routes: ``POST /model/{modelId}/count-tokens`` (Bedrock CountTokens:
authenticated, rate-limited, free), ``GET /foundation-models`` and ``GET /inference-profiles`` (the Bedrock
control plane's ListFoundationModels / ListInferenceProfiles, passed through to the upstream with the gateway's
credentials and narrowed to the models the key may call), and the answer to every unknown path (404
``UnknownOperationException``, as AWS answers it)."""

from __future__ import annotations

import time
from typing import Any

import orjson

from bedrockctl.runtime.resolve import Target
from bedrockctl.runtime.types import Usage
from bedrockctl.runtime.wire import RUNTIME, AwsCallError, WireRequest
from bedrockctl.server.gateway import errors, validate
from bedrockctl.server.gateway.admission import Admission
from bedrockctl.server.gateway.auth import authenticate_request
from bedrockctl.server.gateway.http import client_of, close_unread, model_path, request_id, respond, unknown_path
from bedrockctl.server.gateway.pipeline import Gateway
from bedrockctl.store.keys import KeyRecord

CONTROL = "bedrock"  # the control plane's endpoint prefix (bedrock.<region>.amazonaws.com)
# path -> (operation, the list in the answer, the id of an entry)
LISTS = {
    "/foundation-models": ("ListFoundationModels", "modelSummaries", "modelId"),
    "/inference-profiles": ("ListInferenceProfiles", "inferenceProfileSummaries", "inferenceProfileId"),
}
_JSON = (b"content-type", b"application/json")


async def count_upstream(gw: Gateway, adm: Admission, payload: bytes) -> bytes:
    """Send a CountTokens body for the admitted model (to the foundation model behind a profile: CountTokens
    takes a model id); the upstream's answer (``{"inputTokens": n}``)."""

    def build(t: Target) -> WireRequest:
        path = model_path(t.base_model or t.model_id, "count-tokens")
        return WireRequest(RUNTIME, "CountTokens", path, payload, {"Content-Type": "application/json"})

    resp = await gw.send(adm, build)
    try:
        return await resp.read()
    except AwsCallError as err:
        raise errors.upstream(err.code, err.message, 502) from None


async def count_tokens(gw: Gateway, scope: dict[str, Any], receive: Any, send: Any) -> None:
    """``POST /model/{modelId}/count-tokens``: the body goes to Bedrock unchanged; no budget is spent, the request
    counts against the key's request limits and is audited (operation ``CountTokens``)."""
    started = time.perf_counter()
    rid = request_id()
    headers: dict[bytes, bytes] = dict(scope["headers"])
    client = client_of(scope, headers)
    model = scope["path"][len("/model/") : -len("/count-tokens")]
    key: KeyRecord | None = None
    adm: Admission | None = None
    try:
        if scope["method"] != "POST" or not model:
            raise close_unread(errors.unknown_operation(scope["method"], scope["path"]), headers)
        key, body = await authenticate_request(gw.keys, gw.opts, scope, headers, receive)
        validate.count_tokens(body)
        adm = await gw.admit(key, "bedrock", "CountTokens", model, 0, 0, client, rid)
        data = await count_upstream(gw, adm, body)
    except errors.GatewayError as err:
        if adm is not None:
            gw.finish(adm, Usage(), err.audit_status, err.status)
        else:
            gw.refuse(key, "bedrock", "CountTokens", model or None, client, rid, err, started)
        await respond(send, *err.bedrock(rid))
        return
    gw.finish(adm, Usage(), "ok", 200)
    await respond(send, 200, [_JSON, (b"x-amzn-requestid", rid.encode())], data)


async def control_list(gw: Gateway, scope: dict[str, Any], receive: Any, send: Any) -> None:
    """``GET /foundation-models`` / ``GET /inference-profiles`` (query string passed on: ``byProvider``,
    ``typeEquals``, ``maxResults``, ``nextToken``...), answered in AWS's shape."""
    rid = request_id()
    headers: dict[bytes, bytes] = dict(scope["headers"])
    operation, list_key, id_key = LISTS[scope["path"]]
    try:
        if scope["method"] != "GET":
            raise close_unread(errors.unknown_operation(scope["method"], scope["path"]), headers)
        key, _ = await authenticate_request(gw.keys, gw.opts, scope, headers, receive)
        query = (scope.get("query_string") or b"").decode("latin-1")
        path = scope["path"] + (f"?{query}" if query else "")
        region = gw.ctx.settings.aws.region or "us-east-1"
        try:
            resp = await gw.runtime.transport.send(WireRequest(CONTROL, operation, path, b"", {}, "GET"), region)
            doc = orjson.loads(await resp.read())
        except AwsCallError as err:
            raise errors.upstream(err.code, err.message, err.status) from None
        except orjson.JSONDecodeError:
            raise errors.upstream(
                "BadUpstreamResponse", f"{operation} answered something other than JSON", 502
            ) from None
        if isinstance(doc, dict) and isinstance(doc.get(list_key), list):
            doc[list_key] = [e for e in doc[list_key] if _callable(gw, key, e.get(id_key))]
    except errors.GatewayError as err:
        await respond(send, *err.bedrock(rid))
        return
    await respond(send, 200, [_JSON, (b"x-amzn-requestid", rid.encode())], orjson.dumps(doc))


def _callable(gw: Gateway, key: KeyRecord, model_id: Any) -> bool:
    env = gw.policy.environments.get(key.environment)
    if not key.allowed_models and not (env is not None and env.allowed_models):
        return True
    try:
        gw.check_model(key, env, str(model_id))
    except errors.GatewayError:
        return False
    return True


def answer_unknown_paths(console: Any) -> Any:
    """The console (a Starlette app) for the paths it serves; every other path gets AWS's answer to an unknown
    operation (404, ``x-amzn-ErrorType: UnknownOperationException``, JSON ``{"message": ...}``)."""
    from starlette.routing import Match

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            alternate = dict(scope)
            path = scope["path"]
            alternate["path"] = path[:-1] if path.endswith("/") and path != "/" else path + "/"
            known = any(
                route.matches(s)[0] != Match.NONE for route in console.routes for s in (scope, alternate)
            )  # Starlette redirects the other spelling of a known path (a trailing slash)
            if not known:
                await unknown_path(scope, receive, send)
                return
        await console(scope, receive, send)

    return app
