"""Bedrock runtime handlers: Converse, ConverseStream, InvokeModel, InvokeModelWithResponseStream, CountTokens.

Paths are those of botocore's ``bedrock-runtime`` model (rest-json). Each call resolves the model
(``runtime_resolve``), runs the sandbox model (``runtime_engine``) behind the optional guardrail
(``runtime_guardrail``), renders the reply in the caller's format (``formats`` / ``formats_native``) and reports
one ``InvocationRecord`` whose token counts equal the usage in the response (streams: when the stream ends).
Failed calls are reported too, with ``error_code``.
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

from bedrockctl.sandbox import eventstream
from bedrockctl.sandbox.core import ROUTER, AwsError, InvocationRecord, SandboxRequest, SandboxResponse

from . import runtime_engine as engine
from . import validate
from .formats import Generation, Prompt, Usage, converse_response, converse_stream_events, parse_converse
from .formats_native import AnthropicMessages, BodyFormat
from .formats_raw import format_for
from .runtime_billing import (
    CallExtras,
    converse_extras,
    decorate_anthropic_usage,
    decorate_converse,
    invoke_extras,
    response_headers,
)
from .runtime_guardrail import NOT_FOUND, assess, converse_trace, find_guardrail
from .runtime_resolve import Resolved, resolve

MODEL = r"/model/(?P<model_id>.+)"  # ARNs arrive percent-encoded; the path is decoded
MALFORMED = "Malformed input request, please reformat your input and try again."
NOT_CHAT = "This action doesn't support the model that you provided. Try again with a supported text or chat model."
NO_STREAM = "The model is unsupported for streaming."
_CHAT_FORMATS = {"anthropic-messages", "nova", "titan-text", "llama", "mistral"}


def _record(req: SandboxRequest, record: InvocationRecord) -> None:
    hooks = req.sandbox
    if hooks is not None and hasattr(hooks, "record_invocation"):
        hooks.record_invocation(req, record)


def _recorded(operation: str) -> Callable[[Callable[..., SandboxResponse]], Callable[..., SandboxResponse]]:
    """Report a failed call (AwsError) as an InvocationRecord with ``error_code``, then re-raise."""

    def deco(fn: Callable[..., SandboxResponse]) -> Callable[..., SandboxResponse]:
        @functools.wraps(fn)
        def wrapper(req: SandboxRequest, model_id: str) -> SandboxResponse:
            try:
                return fn(req, model_id)
            except AwsError as err:
                _record(req, InvocationRecord(operation, model_id, 0, 0, error_code=err.code, output_body=err.message))
                raise

        return wrapper

    return deco


def _success(
    req: SandboxRequest,
    operation: str,
    resolved: Resolved,
    gen: Generation,
    extras: CallExtras,
    *,
    metadata: dict[str, str] | None = None,
    input_body: Any = None,
    output_body: Any = None,
) -> None:
    _record(
        req,
        InvocationRecord(
            operation=operation,
            model_id=resolved.requested,
            input_tokens=gen.usage.input_tokens,
            output_tokens=gen.usage.output_tokens,
            cache_read_tokens=gen.usage.cache_read,
            cache_write_tokens=gen.usage.cache_write,
            latency_ms=gen.latency_ms,
            inference_region=resolved.inference_region if resolved.inference_region != req.region else None,
            request_metadata=dict(metadata or {}),
            input_body=input_body,
            output_body=output_body,
            cache_details=extras.cache_details(),
            service_tier=extras.service_tier,
            guardrail_usage=extras.guardrail_usage,
        ),
    )


def _json_body(req: SandboxRequest) -> dict[str, Any]:
    try:
        body = json.loads(req.body or b"{}")
    except ValueError as exc:
        raise AwsError("ValidationException", MALFORMED) from exc
    if not isinstance(body, dict):
        raise AwsError("ValidationException", MALFORMED)
    return body


def _check_limits(resolved: Resolved, prompt: Prompt) -> None:
    model = resolved.model
    limit = model.max_output_tokens
    if prompt.max_tokens is not None and limit and prompt.max_tokens > limit:
        raise AwsError(
            "ValidationException",
            f"The maximum tokens you requested exceeds the model limit of "
            f"{limit}. Try again with a maximum tokens value that is lower than {limit}.",
        )
    total, _ = engine.count_input(prompt)
    if model.context_window and total > model.context_window:
        raise AwsError("ValidationException", "Input is too long for requested model.")


def run_model(
    req: SandboxRequest,
    resolved: Resolved,
    prompt: Prompt,
    guard: tuple[str, str, bool] | None,
    extras: CallExtras,
    *,
    tool_id_prefix: str = "tooluse_",
) -> Generation:
    """The sandbox model behind an optional guardrail ``(identifier, version, trace)``; ``extras`` gets the cache
    writes per TTL and the guardrail units."""
    _check_limits(resolved, prompt)
    guardrail = verdict = None
    trace = guard is not None and guard[2]
    if guard is not None:
        guardrail = find_guardrail(req, guard[0], guard[1])
        if guardrail is None:
            raise AwsError("ValidationException", NOT_FOUND)
        verdict = assess(guardrail, [b.text for b in prompt.all_user_text()])
        extras.add_guardrail(verdict.assessment)
        if verdict.intervened:
            gen = Generation(guardrail.blocked_input, [], "guardrail_intervened", Usage())
            gen.latency_ms = engine.latency_for(gen.usage)
            gen.guardrail_trace = converse_trace(guardrail, verdict, None, "") if trace else None
            return gen
    gen = engine.generate(
        prompt, resolved.model_id, req.account_id, tool_id_prefix=tool_id_prefix, cache_ttls=extras.cache_ttls
    )
    extras.took(gen)
    if guardrail is not None and verdict is not None:
        out = assess(guardrail, [gen.text])
        extras.add_guardrail(out.assessment)
        reply = gen.text
        if out.intervened:
            gen.text, gen.tool_uses, gen.stop_reason = guardrail.blocked_output, [], "guardrail_intervened"
        gen.guardrail_trace = converse_trace(guardrail, verdict, out, reply) if trace else None
    return gen


# --- Converse / ConverseStream ---------------------------------------------------------------------------


def _converse(req: SandboxRequest, model_id: str) -> tuple[dict[str, Any], Resolved, Generation, CallExtras]:
    body = _json_body(req)
    extras = converse_extras(body)
    resolved = resolve(req, model_id)
    if resolved.model.body_format not in _CHAT_FORMATS and "TEXT" not in resolved.model.output_modalities:
        raise AwsError("ValidationException", NOT_CHAT)
    if resolved.model.body_format in ("titan-embed", "cohere-embed", "titan-embed-image"):
        raise AwsError("ValidationException", NOT_CHAT)
    prompt = parse_converse(body)
    validate.check_converse(body, resolved.model_id)
    if not prompt.turns:
        raise AwsError(
            "ValidationException",
            "A conversation must start with a user message. Try again with a "
            "conversation that starts with a user message.",
        )
    if prompt.max_tokens is None:
        prompt.max_tokens = resolved.model.max_output_tokens
    cfg = body.get("guardrailConfig")
    guard = None
    if cfg:
        guard = (
            str(cfg.get("guardrailIdentifier", "")),
            str(cfg.get("guardrailVersion", "")),
            cfg.get("trace") in ("enabled", "enabled_full"),
        )
    return body, resolved, run_model(req, resolved, prompt, guard, extras), extras


def _metadata(body: dict[str, Any]) -> dict[str, str]:
    meta = body.get("requestMetadata") or {}
    if not isinstance(meta, dict):
        raise AwsError(
            "ValidationException",
            "1 validation error detected: Value at 'requestMetadata' failed to "
            "satisfy constraint: Member must be a map",
        )
    return {str(k): str(v) for k, v in meta.items()}


def _header_metadata(req: SandboxRequest) -> dict[str, str]:
    """InvokeModel's ``X-Amzn-Bedrock-Request-Metadata``: a JSON object of up to 16 string pairs (as Converse's
    ``requestMetadata``), recorded in the invocation log."""
    raw = req.headers.get("X-Amzn-Bedrock-Request-Metadata")
    if raw is None:
        return {}
    try:
        meta = json.loads(raw)
    except ValueError:
        meta = None
    pairs = meta.items() if isinstance(meta, dict) else []
    valid = all(isinstance(k, str) and isinstance(v, str) and 0 < len(k) <= 256 and len(v) <= 256 for k, v in pairs)
    if not isinstance(meta, dict) or len(meta) > 16 or len(raw) > 8500 or not valid:
        raise AwsError(
            "ValidationException",
            "1 validation error detected: Value at 'requestMetadata' failed to satisfy constraint: Member must be a "
            "JSON object of at most 16 string keys and values",
        )
    return dict(meta)


def _routed(payload: dict[str, Any], resolved: Resolved) -> dict[str, Any]:
    """A call through a prompt router names the model that served it: ``trace.promptRouter.invokedModelId`` of
    the Converse response and of ConverseStream's ``metadata`` event (InvokeModel's native body has no such
    member: AWS documents none)."""
    if resolved.invoked_model_arn is not None:
        payload.setdefault("trace", {})["promptRouter"] = {"invokedModelId": resolved.invoked_model_arn}
    return payload


@ROUTER.route("bedrock-runtime", "POST", MODEL + "/converse")
@_recorded("Converse")
def converse(req: SandboxRequest, model_id: str) -> SandboxResponse:
    body, resolved, gen, extras = _converse(req, model_id)
    out = _routed(decorate_converse(converse_response(gen), extras), resolved)
    _success(req, "Converse", resolved, gen, extras, metadata=_metadata(body), input_body=body, output_body=out)
    return SandboxResponse.json(out)


@ROUTER.route("bedrock-runtime", "POST", MODEL + "/converse-stream")
@_recorded("ConverseStream")
def converse_stream(req: SandboxRequest, model_id: str) -> SandboxResponse:
    body, resolved, gen, extras = _converse(req, model_id)
    metadata = _metadata(body)
    events = [
        (kind, _routed(decorate_converse(p, extras), resolved) if kind == "metadata" else p)
        for kind, p in converse_stream_events(gen)
    ]

    def stream() -> Iterator[bytes]:
        for event_type, payload in events:
            yield eventstream.encode_event(event_type, payload)
        whole = _routed(decorate_converse(converse_response(gen), extras), resolved)
        _success(req, "ConverseStream", resolved, gen, extras, metadata=metadata, input_body=body, output_body=whole)

    return SandboxResponse(200, _paced(req, model_id, stream()), {"Content-Type": eventstream.CONTENT_TYPE})


# --- InvokeModel / InvokeModelWithResponseStream ---------------------------------------------------------


def _invoke(
    req: SandboxRequest, model_id: str, streaming: bool
) -> tuple[dict[str, Any], Resolved, BodyFormat, Generation, CallExtras]:
    resolved = resolve(req, model_id)
    fmt = format_for(resolved.model_id, resolved.model.body_format)
    if fmt is None:
        advice = "; use Converse for this model" if "TEXT" in resolved.model.output_modalities else ""
        raise AwsError(
            "ValidationException",
            f"The sandbox does not emulate the {resolved.model.body_format} request format{advice}.",
        )
    if streaming and (not fmt.streaming or not resolved.model.response_streaming):
        raise AwsError("ValidationException", NO_STREAM)
    body = _json_body(req)
    validate.check_native(body, resolved.model_id)
    try:  # a body of the wrong shape (a list for a tool name ...) is Bedrock's 400, never a 500
        extras = invoke_extras(req.headers, body, isinstance(fmt, AnthropicMessages))
        prompt = fmt.parse(body)
        direct = fmt.direct(body, prompt, resolved.model_id)  # embeddings and images: no chat, no guardrail
        if direct is not None:
            return body, resolved, fmt, direct, extras
        guard_id = req.headers.get("X-Amzn-Bedrock-GuardrailIdentifier")
        guard = None
        if guard_id:
            trace = str(req.headers.get("X-Amzn-Bedrock-Trace", "")).upper() in ("ENABLED", "ENABLED_FULL")
            guard = (guard_id, str(req.headers.get("X-Amzn-Bedrock-GuardrailVersion", "")), trace)
        gen = run_model(req, resolved, prompt, guard, extras, tool_id_prefix=fmt.tool_id_prefix)
    except (TypeError, KeyError, AttributeError, ValueError) as exc:
        raise AwsError("ValidationException", MALFORMED) from exc
    return body, resolved, fmt, gen, extras


def _native(
    fmt: BodyFormat, gen: Generation, resolved: Resolved, req: SandboxRequest, chunks: bool, extras: CallExtras
) -> Any:
    intervened = gen.stop_reason == "guardrail_intervened"
    shown = replace(gen, stop_reason="end_turn") if intervened and isinstance(fmt, AnthropicMessages) else gen
    if chunks:
        out: Any = fmt.chunks(shown, resolved.model_id, req.request_id)
        target = out[-1]
    else:
        out = target = fmt.response(shown, resolved.model_id, req.request_id)
    if isinstance(fmt, AnthropicMessages):  # message_start (streams) or the message carries the full usage
        first = out[0]["message"] if chunks else out
        decorate_anthropic_usage(first["usage"], extras)
    if intervened:
        target["amazon-bedrock-guardrailAction"] = "INTERVENED"
    if gen.guardrail_trace is not None:
        target["amazon-bedrock-trace"] = {"guardrail": gen.guardrail_trace}
    return out


@ROUTER.route("bedrock-runtime", "POST", MODEL + "/invoke")
@_recorded("InvokeModel")
def invoke_model(req: SandboxRequest, model_id: str) -> SandboxResponse:
    metadata = _header_metadata(req)
    body, resolved, fmt, gen, extras = _invoke(req, model_id, streaming=False)
    out = _native(fmt, gen, resolved, req, False, extras)
    _success(req, "InvokeModel", resolved, gen, extras, metadata=metadata, input_body=body, output_body=out)
    headers = {
        "X-Amzn-Bedrock-Input-Token-Count": str(gen.usage.input_tokens),
        "X-Amzn-Bedrock-Output-Token-Count": str(gen.usage.output_tokens),
        "X-Amzn-Bedrock-Invocation-Latency": str(gen.latency_ms),
    }
    if gen.usage.cache_read or gen.usage.cache_write:
        headers["X-Amzn-Bedrock-Cache-Read-Input-Token-Count"] = str(gen.usage.cache_read)
        headers["X-Amzn-Bedrock-Cache-Write-Input-Token-Count"] = str(gen.usage.cache_write)
    headers.update(response_headers(extras))
    return SandboxResponse.json(out, headers=headers)


@ROUTER.route("bedrock-runtime", "POST", MODEL + "/invoke-with-response-stream")
@_recorded("InvokeModelWithResponseStream")
def invoke_model_stream(req: SandboxRequest, model_id: str) -> SandboxResponse:
    metadata = _header_metadata(req)
    body, resolved, fmt, gen, extras = _invoke(req, model_id, streaming=True)
    chunks = _native(fmt, gen, resolved, req, True, extras)

    def stream() -> Iterator[bytes]:
        for chunk in chunks:
            raw = json.dumps(chunk, separators=(",", ":")).encode()
            yield eventstream.encode_event("chunk", {"bytes": base64.b64encode(raw).decode()})
        _success(
            req,
            "InvokeModelWithResponseStream",
            resolved,
            gen,
            extras,
            metadata=metadata,
            input_body=body,
            output_body=_native(fmt, gen, resolved, req, False, extras),
        )

    headers = {"Content-Type": eventstream.CONTENT_TYPE, "X-Amzn-Bedrock-Content-Type": "application/json"}
    headers.update(response_headers(extras))
    return SandboxResponse(200, _paced(req, model_id, stream()), headers)


def _paced(req: SandboxRequest, model_id: str, events: Iterator[bytes]) -> Iterator[bytes]:
    faults = getattr(req.sandbox, "faults", None)
    return events if faults is None else faults.paced(events, req, model_id)


# --- CountTokens -----------------------------------------------------------------------------------------


@ROUTER.route("bedrock-runtime", "POST", MODEL + "/count-tokens")
def count_tokens(req: SandboxRequest, model_id: str) -> SandboxResponse:
    body = _json_body(req)
    resolved = resolve(req, model_id)
    if resolved.model.body_format != "anthropic-messages":
        raise AwsError("ValidationException", "The provided model doesn't support counting tokens.")
    spec = body.get("input") or {}
    if not isinstance(spec, dict):
        raise AwsError("ValidationException", MALFORMED)
    if "converse" in spec or "invokeModel" in spec:
        try:  # a body of the wrong shape is Bedrock's 400, never a 500
            if "converse" in spec:
                prompt = parse_converse(spec["converse"] or {})
            else:
                raw = json.loads(base64.b64decode(spec["invokeModel"].get("body", ""), validate=True))
                prompt = AnthropicMessages().parse(raw)
        except (ValueError, binascii.Error, TypeError, KeyError, AttributeError) as exc:
            raise AwsError("ValidationException", MALFORMED) from exc
    else:
        raise AwsError(
            "ValidationException",
            "1 validation error detected: Value null at 'input' failed to satisfy constraint: Member must not be null",
        )
    total, _ = engine.count_input(prompt)
    return SandboxResponse.json({"inputTokens": total})
