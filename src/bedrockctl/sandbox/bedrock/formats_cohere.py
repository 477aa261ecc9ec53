"""Cohere's native InvokeModel bodies: Command R / R+ chat and Embed (v3 and v4 shapes).

Command R: ``message`` + ``chat_history`` (``USER`` / ``CHATBOT`` / ``SYSTEM`` / ``TOOL``), ``preamble``,
``documents``, ``tools`` (``parameter_definitions``) and ``tool_results``; the reply carries ``response_id``,
``text``, ``generation_id``, ``finish_reason`` (``COMPLETE`` / ``MAX_TOKENS``), ``tool_calls`` and
``meta.billed_units``. Streams are ``stream-start``, ``text-generation`` (and ``tool-calls-generation``) and
``stream-end`` events, the last holding the whole ``response``.

Embed v3 (``cohere.embed-english-v3`` ...): ``texts`` or ``images``, ``input_type``, ``embedding_types``; the
answer is ``embeddings_floats`` (a list of vectors) or, when types are asked for, ``embeddings_by_type``.
Embed v4 (``cohere.embed-v4``) adds interleaved ``inputs`` and ``output_dimension`` and always answers by type.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from . import runtime_engine as engine
from . import tokens
from .formats import Block, Generation, Prompt, ToolDef, Turn, Usage, invalid, media_block, split_text, text_block
from .formats_native import BodyFormat, _int, _require, _with_metrics

_PARAM_TYPES = {"str": "string", "int": "integer", "float": "number", "bool": "boolean", "list": "array"}


def _uuid(request_id: str, salt: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"{salt}:{request_id}"))


def _tool_schema(definitions: Any) -> dict[str, Any]:
    props: dict[str, Any] = {}
    required: list[str] = []
    for name, spec in (definitions or {}).items():
        spec = spec if isinstance(spec, dict) else {}
        props[name] = {"type": _PARAM_TYPES.get(str(spec.get("type", "str")), "object")}
        if spec.get("required"):
            required.append(name)
    return {"type": "object", "properties": props, "required": required}


class CohereCommandR(BodyFormat):
    name = "cohere-command-r"

    def parse(self, body: dict[str, Any]) -> Prompt:
        _require(body, "message")
        prompt = Prompt(max_tokens=_int(body["max_tokens"], "max_tokens") if "max_tokens" in body else None)
        if body.get("preamble"):
            prompt.system.append(text_block(str(body["preamble"])))
        for item in body.get("chat_history") or []:
            role = str(item.get("role", "USER")).upper()
            text = str(item.get("message", ""))
            if role == "SYSTEM":
                prompt.system.append(text_block(text))
                continue
            blocks = [text_block(text)] if text else []
            blocks += [
                Block("tool_use", name=c.get("name", ""), input=c.get("parameters"), tokens=tokens.json_tokens(c))
                for c in item.get("tool_calls") or []
            ]
            prompt.turns.append(Turn("assistant" if role == "CHATBOT" else "user", blocks))
        last: list[Block] = [text_block(json.dumps(doc, sort_keys=True)) for doc in body.get("documents") or []]
        for result in body.get("tool_results") or []:
            raw = json.dumps(result.get("outputs"), separators=(",", ":"), sort_keys=True)
            name = (result.get("call") or {}).get("name", "")
            last.append(Block("tool_result", text=raw, name=name, tokens=tokens.text_tokens(raw)))
        if body["message"]:
            last.append(text_block(str(body["message"])))
        prompt.turns.append(Turn("user", last))
        for tool in body.get("tools") or []:
            schema = _tool_schema(tool.get("parameter_definitions"))
            prompt.tools.append(ToolDef(str(tool.get("name", "")), str(tool.get("description", "")), schema))
        prompt.stop_sequences = [str(s) for s in body.get("stop_sequences") or []]
        return prompt

    def _response(self, gen: Generation, request_id: str) -> dict[str, Any]:
        out: dict[str, Any] = {
            "response_id": _uuid(request_id, "response"),
            "text": gen.text,
            "generation_id": _uuid(request_id, "generation"),
            "finish_reason": "MAX_TOKENS" if gen.stop_reason == "max_tokens" else "COMPLETE",
            "meta": {
                "api_version": {"version": "1"},
                "billed_units": {"input_tokens": gen.usage.input_tokens, "output_tokens": gen.usage.output_tokens},
            },
        }
        if gen.tool_uses:
            out["tool_calls"] = [{"name": u.name, "parameters": u.input} for u in gen.tool_uses]
        return out

    def response(self, gen: Generation, model_id: str, request_id: str) -> dict[str, Any]:
        return self._response(gen, request_id)

    def chunks(self, gen: Generation, model_id: str, request_id: str) -> list[dict[str, Any]]:
        full = self._response(gen, request_id)
        out: list[dict[str, Any]] = [
            {"is_finished": False, "event_type": "stream-start", "generation_id": full["generation_id"]}
        ]
        if gen.text:
            out += [
                {"is_finished": False, "event_type": "text-generation", "text": piece} for piece in split_text(gen.text)
            ]
        if gen.tool_uses:
            out.append(
                {
                    "is_finished": False,
                    "event_type": "tool-calls-generation",
                    "text": gen.text,
                    "tool_calls": full["tool_calls"],
                }
            )
        out.append(
            {"is_finished": True, "event_type": "stream-end", "finish_reason": full["finish_reason"], "response": full}
        )
        return _with_metrics(out, gen)


# --- Embed v3 / v4 ------------------------------------------------------------------------------------------


def _quantised(vector: list[float], kind: str) -> list[Any]:
    """``vector`` as Cohere's embedding types: floats, int8 / uint8 scaled to the vector's largest component,
    or one bit per dimension packed eight to a byte (``binary`` signed, ``ubinary`` unsigned)."""
    if kind == "float":
        return vector
    scale = max((abs(v) for v in vector), default=0.0) or 1.0
    if kind == "int8":
        return [max(-128, min(127, round(v / scale * 127))) for v in vector]
    if kind == "uint8":
        return [max(0, min(255, round((v / scale + 1) * 127.5))) for v in vector]
    packed = []
    for i in range(0, len(vector) - 7, 8):
        byte = sum(1 << (7 - j) for j, v in enumerate(vector[i : i + 8]) if v > 0)
        packed.append(byte - 128 if kind == "binary" else byte)
    return packed


class CohereEmbed(BodyFormat):
    name = "cohere-embed"
    streaming = False

    def _inputs(self, body: dict[str, Any]) -> list[list[Block]]:
        if "inputs" in body:
            items = []
            for entry in body["inputs"] or []:
                parts = entry.get("content") if isinstance(entry, dict) else None
                items.append(
                    [
                        text_block(str(p.get("text", ""))) if p.get("type") == "text" else media_block()
                        for p in parts or []
                        if isinstance(p, dict)
                    ]
                )
            return items
        if body.get("texts") is not None and body.get("images"):
            raise invalid(
                "Malformed input request: #: only one of [texts, images] may be set, please reformat your input "
                "and try again."
            )
        if body.get("images"):
            return [[media_block()] for _ in body["images"]]
        return [[text_block(str(t))] for t in body.get("texts") or []]

    def parse(self, body: dict[str, Any]) -> Prompt:
        _require(body, "input_type")
        if not any(k in body for k in ("texts", "images", "inputs")):
            _require(body, "texts")
        return Prompt(turns=[Turn("user", blocks) for blocks in self._inputs(body)], message_overhead=False)

    def direct(self, body: dict[str, Any], prompt: Prompt, model_id: str) -> Generation:
        v4 = "embed-v4" in model_id
        dims = int(body.get("output_dimension", 1536)) if v4 else (384 if "light" in model_id else 1024)
        total, _ = engine.count_input(prompt)
        gen = Generation("", [], "end_turn", Usage(input_tokens=total))
        for turn in prompt.turns:
            text = " ".join(b.text for b in turn.blocks) or f"media:{len(turn.blocks)}"
            gen.vectors.append(engine.embed(text, model_id, dims))
        types = body.get("embedding_types")
        gen.echo = {
            "by_type": bool(types) or v4,
            "types": list(types or ["float"]),
            "texts": [str(t) for t in body["texts"]] if isinstance(body.get("texts"), list) else None,
        }
        gen.latency_ms = engine.latency_for(gen.usage)
        return gen

    def response(self, gen: Generation, model_id: str, request_id: str) -> dict[str, Any]:
        echo = gen.echo
        out: dict[str, Any] = {"id": _uuid(request_id, "embed")}
        if echo.get("by_type"):
            out["embeddings"] = {t: [_quantised(v, t) for v in gen.vectors] for t in echo["types"]}
            out["response_type"] = "embeddings_by_type"
        else:
            out["embeddings"] = gen.vectors
            out["response_type"] = "embeddings_floats"
        if echo.get("texts") is not None:
            out["texts"] = echo["texts"]
        return out
