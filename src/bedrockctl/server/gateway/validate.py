"""Validation at the edge: every field the gateway reads or forwards is type- and range-checked, as Bedrock and
OpenAI check them, before anything is reserved. A bad request is a 400 in the caller's protocol (Bedrock's
``ValidationException``, OpenAI's ``invalid_request_error`` with the ``param`` at fault), never a 500.

- Converse / ConverseStream bodies: against botocore's service model (``shapes.py``), then ``maxTokens`` against
  the model's output limit from the catalog;
- InvokeModel bodies: the output limit wherever the provider keeps it (``max_tokens``, ``maxTokenCount`` ...);
- OpenAI chat completions and embeddings: the fields of OpenAI's API reference, with Bedrock's ranges where the
  call ends up on Bedrock (``temperature`` 0-1).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import orjson

from bedrockctl.catalog import get_model
from bedrockctl.runtime.resolve import canonical_model_id
from bedrockctl.server.gateway import errors, shapes
from bedrockctl.server.gateway.input_estimate import InputEstimator

INT32_MAX = 2**31 - 1
INT64 = (-(2**63), 2**63 - 1)
_GEO = ("us.", "eu.", "apac.", "global.", "jp.", "au.", "ca.", "us-gov.")
_TOOL_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
_ROLES = frozenset({"system", "developer", "user", "assistant", "tool"})
_PART_TYPES = frozenset({"text", "image_url"})
_TOOL_CHOICES = frozenset({"none", "auto", "required"})


@dataclass(frozen=True)
class ModelLimits:
    provider: str  # anthropic, amazon, meta ... ("" when unknown)
    context_window: int | None
    max_output: int | None

    @property
    def estimator(self) -> InputEstimator:
        return InputEstimator(self.provider, self.context_window)

    def default_max_tokens(self, configured: int) -> int:
        """The output limit the gateway sets when the caller sets none: the configured default, within the model's."""
        return min(configured, self.max_output) if self.max_output else configured


@lru_cache(maxsize=4096)
def model_limits(model: str) -> ModelLimits:
    """The limits of a model id, alias, inference profile id or ARN (the catalog's; unknown ones are None)."""
    wanted = canonical_model_id(model)
    bare = wanted.rsplit("/", 1)[-1] if wanted.startswith("arn:") else wanted
    for geo in _GEO:
        if bare.startswith(geo):
            bare = bare[len(geo) :]
            break
    found = get_model(bare)
    provider = bare.split(".", 1)[0] if "." in bare else ""
    if found is None:
        return ModelLimits(provider, None, None)
    return ModelLimits(provider, found.context_window, found.max_output_tokens)


def _invalid(message: str, param: str | None) -> errors.GatewayError:
    return errors.validation(message, param=param)


def max_tokens(value: Any, param: str, limits: ModelLimits) -> int:
    """A caller's output limit: an integer from 1 to the model's limit."""
    high = limits.max_output or INT32_MAX
    if not isinstance(value, int) or isinstance(value, bool):
        raise _invalid(f"'{param}' must be an integer from 1 to {high}.", param)
    if value < 1 or value > high:
        raise _invalid(f"'{param}' is {value}; it must be an integer from 1 to {high} for this model.", param)
    return value


# -- Bedrock ------------------------------------------------------------------------------------------------------
def converse(operation: str, doc: Any, limits: ModelLimits) -> None:
    """A Converse / ConverseStream body, as Bedrock checks it, and ``maxTokens`` within the model's limit."""
    problem = shapes.check_body(operation, doc)
    if problem is not None:
        raise _invalid(f"1 validation error detected: {problem.message}", problem.path)
    cfg = doc.get("inferenceConfig")
    if isinstance(cfg, dict) and cfg.get("maxTokens") is not None:
        max_tokens(cfg["maxTokens"], "inferenceConfig.maxTokens", limits)


def count_tokens(body: bytes) -> None:
    """A CountTokens body (``{"input": {"converse": {...}}}`` or ``{"invokeModel": {"body": ...}}``), as Bedrock
    checks it."""
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise _invalid("The request body is not valid JSON.", None) from None
    problem = shapes.check_body("CountTokens", doc)
    if problem is not None:
        raise _invalid(f"1 validation error detected: {problem.message}", problem.path)


def native(doc: Any, paths: Sequence[tuple[str, ...]], limits: ModelLimits) -> None:
    """A model-native InvokeModel body: where it keeps its output limit (``paths``), that is an object path to an
    integer within the model's limit."""
    if not isinstance(doc, dict):
        return
    for path in paths:
        node: Any = doc
        for depth, part in enumerate(path):
            where = ".".join(path[: depth + 1])
            if part not in node:
                break
            node = node[part]
            if depth < len(path) - 1 and not isinstance(node, dict):
                raise _invalid(f"'{where}' must be an object.", where)
        else:
            if node is not None:
                max_tokens(node, ".".join(path), limits)


# -- OpenAI -------------------------------------------------------------------------------------------------------
def _number(req: dict[str, Any], name: str, low: float, high: float) -> None:
    value = req.get(name)
    if value is None:
        return
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value):
        raise _invalid(f"'{name}' must be a number from {low:g} to {high:g}.", name)
    if not low <= value <= high:
        raise _invalid(f"'{name}' is {value}; it must be from {low:g} to {high:g}.", name)


def _integer(req: dict[str, Any], name: str, low: int, high: int) -> None:
    value = req.get(name)
    if value is None:
        return
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise _invalid(f"'{name}' must be an integer from {low} to {high}.", name)


def _typed(req: dict[str, Any], name: str, kind: type | tuple[type, ...], what: str) -> None:
    value = req.get(name)
    if value is not None and (not isinstance(value, kind) or (kind is not bool and isinstance(value, bool))):
        raise _invalid(f"'{name}' must be {what}.", name)


def _string(value: Any, param: str, *, empty: bool = True) -> None:
    if not isinstance(value, str) or (not empty and not value):
        raise _invalid(f"'{param}' must be a {'' if empty else 'non-empty '}string.", param)


def _content(content: Any, param: str, role: str) -> None:
    if content is None or isinstance(content, str):
        return
    if not isinstance(content, list):
        raise _invalid(f"'{param}' must be a string or an array of content parts.", param)
    for j, part in enumerate(content):
        where = f"{param}[{j}]"
        if not isinstance(part, dict) or not isinstance(part.get("type"), str) or part["type"] not in _PART_TYPES:
            raise _invalid(f"'{where}' must be an object with 'type' 'text' or 'image_url'.", where)
        if part["type"] == "text":
            _string(part.get("text"), f"{where}.text")
        elif role != "user":
            raise _invalid(f"'{where}': image parts are only supported in user messages.", where)
        else:
            ref = part.get("image_url")
            url = ref.get("url") if isinstance(ref, dict) else ref
            _string(url, f"{where}.image_url.url", empty=False)


def _message(m: Any, i: int) -> None:
    where = f"messages[{i}]"
    if not isinstance(m, dict):
        raise _invalid(f"'{where}' must be an object.", where)
    role = m.get("role")
    if not isinstance(role, str) or role not in _ROLES:
        raise _invalid(f"'{where}.role' must be one of {', '.join(sorted(_ROLES))}.", f"{where}.role")
    _content(m.get("content"), f"{where}.content", role)
    if role == "tool":
        _string(m.get("tool_call_id"), f"{where}.tool_call_id", empty=False)
    calls = m.get("tool_calls")
    if calls is None:
        return
    if role != "assistant" or not isinstance(calls, list):
        raise _invalid(f"'{where}.tool_calls' must be an array, on assistant messages only.", f"{where}.tool_calls")
    for j, call in enumerate(calls):
        cw = f"{where}.tool_calls[{j}]"
        fn = call.get("function") if isinstance(call, dict) else None
        if not isinstance(fn, dict):
            raise _invalid(f"'{cw}' must be an object with a 'function'.", cw)
        _string(call.get("id", ""), f"{cw}.id")
        _string(fn.get("name"), f"{cw}.function.name", empty=False)
        _string(fn.get("arguments", "{}"), f"{cw}.function.arguments")


def _tools(tools: Any) -> None:
    if tools is None:
        return
    if not isinstance(tools, list):
        raise _invalid("'tools' must be an array of function tools.", "tools")
    for i, tool in enumerate(tools):
        where = f"tools[{i}]"
        fn = tool.get("function") if isinstance(tool, dict) else None
        if not isinstance(fn, dict) or tool.get("type", "function") != "function":
            raise _invalid(f"'{where}' must be {{'type': 'function', 'function': {{...}}}}.", where)
        name = fn.get("name")
        if not isinstance(name, str) or not _TOOL_NAME.match(name):
            param = f"{where}.function.name"
            raise _invalid(f"'{param}' must be 1-64 letters, digits, '_' or '-'.", param)
        if fn.get("description") is not None:
            _string(fn["description"], f"{where}.function.description")
        if fn.get("parameters") is not None and not isinstance(fn["parameters"], dict):
            param = f"{where}.function.parameters"
            raise _invalid(f"'{param}' must be a JSON Schema object.", param)


def _tool_choice(choice: Any) -> None:
    if choice is None or (isinstance(choice, str) and choice in _TOOL_CHOICES):
        return
    fn = choice.get("function") if isinstance(choice, dict) else None
    if not isinstance(fn, dict) or not isinstance(fn.get("name"), str) or not fn["name"]:
        raise _invalid(
            "'tool_choice' must be 'none', 'auto', 'required' or {'type': 'function', 'function': {'name': ...}}.",
            "tool_choice",
        )


def _stop(stop: Any) -> None:
    if stop is None or (isinstance(stop, str) and stop):
        return
    if not isinstance(stop, list) or len(stop) > 4 or not all(isinstance(s, str) and s for s in stop):
        raise _invalid("'stop' must be a non-empty string or an array of up to 4 non-empty strings.", "stop")


def chat(req: dict[str, Any], limits: ModelLimits) -> None:
    """An OpenAI chat completions request (the model was checked by the caller)."""
    messages = req.get("messages")
    if not isinstance(messages, list) or not messages:
        raise _invalid("'messages' must be a non-empty array.", "messages")
    for i, m in enumerate(messages):
        _message(m, i)
    for name in ("max_completion_tokens", "max_tokens"):
        if req.get(name) is not None:
            max_tokens(req[name], name, limits)
    _number(req, "temperature", 0, 1)  # Bedrock's range (OpenAI's goes to 2)
    _number(req, "top_p", 0, 1)
    _number(req, "presence_penalty", -2, 2)
    _number(req, "frequency_penalty", -2, 2)
    _integer(req, "n", 1, 1)
    _integer(req, "seed", *INT64)
    _integer(req, "top_logprobs", 0, 20)
    _stop(req.get("stop"))
    _tools(req.get("tools"))
    _tool_choice(req.get("tool_choice"))
    for name in ("stream", "logprobs", "parallel_tool_calls", "store"):
        _typed(req, name, bool, "a boolean")
    for name in ("user", "reasoning_effort", "service_tier"):
        _typed(req, name, str, "a string")
    for name in ("response_format", "metadata", "logit_bias"):
        _typed(req, name, dict, "an object")
    options = req.get("stream_options")
    _typed(req, "stream_options", dict, "an object")
    if isinstance(options, dict):
        _typed(options, "include_usage", bool, "a boolean")


def embeddings(req: dict[str, Any]) -> list[str]:
    """An OpenAI embeddings request; returns its input texts."""
    raw = req.get("input")
    texts = [raw] if isinstance(raw, str) else raw
    if not isinstance(texts, list) or not texts or not all(isinstance(t, str) and t for t in texts):
        raise _invalid(
            "'input' must be a non-empty string or an array of non-empty strings (token arrays are not supported).",
            "input",
        )
    _integer(req, "dimensions", 1, 8192)
    fmt = req.get("encoding_format")
    if fmt is not None and fmt not in ("float", "base64"):
        raise _invalid("'encoding_format' must be 'float' or 'base64'.", "encoding_format")
    _typed(req, "user", str, "a string")
    return texts
