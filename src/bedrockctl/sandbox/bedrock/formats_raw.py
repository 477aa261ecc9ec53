"""Raw-prompt InvokeModel bodies (Titan text, Llama, Mistral), Titan embeddings, and the format registry.

``FORMATS`` holds every native body the sandbox speaks; ``format_for`` picks a model's (the catalog's
``body_format``, else by model-id prefix). Cohere, AI21 and image bodies live in their own modules.
"""

from __future__ import annotations

from typing import Any

from . import runtime_engine as engine
from . import tokens
from .formats import Generation, Prompt, Turn, Usage, invalid, split_text, text_block
from .formats_ai21 import Jamba
from .formats_cohere import CohereCommandR, CohereEmbed
from .formats_image import ImageGeneration
from .formats_native import AnthropicMessages, BodyFormat, NovaMessages, _int, _require, _with_metrics

# --- Raw-prompt formats: Titan text, Llama, Mistral; Titan embeddings ----------------------------------


def _raw_prompt(text: str, max_tokens: int | None, stops: list[str]) -> Prompt:
    return Prompt(
        turns=[Turn("user", [text_block(text)])], max_tokens=max_tokens, stop_sequences=stops, message_overhead=False
    )


def _short_reason(gen: Generation, stop: str, length: str, seq: str) -> str:
    return length if gen.stop_reason == "max_tokens" else seq if gen.stop_reason == "stop_sequence" else stop


class TitanText(BodyFormat):
    name = "titan-text"

    def parse(self, body: dict[str, Any]) -> Prompt:
        _require(body, "inputText")
        cfg = body.get("textGenerationConfig") or {}
        limit = _int(cfg["maxTokenCount"], "textGenerationConfig/maxTokenCount") if "maxTokenCount" in cfg else None
        return _raw_prompt(str(body["inputText"]), limit, [str(s) for s in cfg.get("stopSequences") or []])

    def _reason(self, gen: Generation) -> str:
        return _short_reason(gen, "FINISH", "LENGTH", "STOP_CRITERIA_MET")

    def response(self, gen: Generation, model_id: str, request_id: str) -> dict[str, Any]:
        return {
            "inputTextTokenCount": gen.usage.input_tokens,
            "results": [
                {"tokenCount": gen.usage.output_tokens, "outputText": gen.text, "completionReason": self._reason(gen)}
            ],
        }

    def chunks(self, gen: Generation, model_id: str, request_id: str) -> list[dict[str, Any]]:
        pieces = split_text(gen.text)
        out: list[dict[str, Any]] = []
        for i, piece in enumerate(pieces):
            last = i == len(pieces) - 1
            chunk: dict[str, Any] = {
                "outputText": piece,
                "index": 0,
                "totalOutputTextTokenCount": gen.usage.output_tokens if last else None,
                "completionReason": self._reason(gen) if last else None,
            }
            if i == 0:
                chunk["inputTextTokenCount"] = gen.usage.input_tokens
            out.append(chunk)
        return _with_metrics(out, gen)


class Llama(BodyFormat):
    name = "llama"

    def parse(self, body: dict[str, Any]) -> Prompt:
        _require(body, "prompt")
        limit = _int(body["max_gen_len"], "max_gen_len") if "max_gen_len" in body else None
        return _raw_prompt(str(body["prompt"]), limit, [])

    def response(self, gen: Generation, model_id: str, request_id: str) -> dict[str, Any]:
        return {
            "generation": gen.text,
            "prompt_token_count": gen.usage.input_tokens,
            "generation_token_count": gen.usage.output_tokens,
            "stop_reason": _short_reason(gen, "stop", "length", "stop"),
        }

    def chunks(self, gen: Generation, model_id: str, request_id: str) -> list[dict[str, Any]]:
        pieces = split_text(gen.text)
        out: list[dict[str, Any]] = []
        emitted = ""
        for i, piece in enumerate(pieces):
            last = i == len(pieces) - 1
            emitted += piece
            out.append(
                {
                    "generation": piece,
                    "prompt_token_count": gen.usage.input_tokens if i == 0 else None,
                    "generation_token_count": gen.usage.output_tokens if last else tokens.text_tokens(emitted),
                    "stop_reason": _short_reason(gen, "stop", "length", "stop") if last else None,
                }
            )
        return _with_metrics(out, gen)


class Mistral(BodyFormat):
    name = "mistral"

    def parse(self, body: dict[str, Any]) -> Prompt:
        _require(body, "prompt")
        limit = _int(body["max_tokens"], "max_tokens") if "max_tokens" in body else None
        return _raw_prompt(str(body["prompt"]), limit, [str(s) for s in body.get("stop") or []])

    def response(self, gen: Generation, model_id: str, request_id: str) -> dict[str, Any]:
        return {"outputs": [{"text": gen.text, "stop_reason": _short_reason(gen, "stop", "length", "stop")}]}

    def chunks(self, gen: Generation, model_id: str, request_id: str) -> list[dict[str, Any]]:
        pieces = split_text(gen.text)
        out = [{"outputs": [{"text": p, "stop_reason": None}]} for p in pieces]
        out[-1]["outputs"][0]["stop_reason"] = _short_reason(gen, "stop", "length", "stop")
        return _with_metrics(out, gen)


class TitanEmbeddings(BodyFormat):
    name = "titan-embed"
    streaming = False

    def parse(self, body: dict[str, Any]) -> Prompt:
        _require(body, "inputText")
        return _raw_prompt(str(body["inputText"]), None, [])

    def dimensions(self, body: dict[str, Any], model_id: str) -> int:
        if "v2" not in model_id:
            return 1536
        dims = body.get("dimensions", 1024)
        if dims not in (256, 512, 1024):
            raise invalid(
                f"Malformed input request: #/dimensions: {dims} is not a valid enum value, please "
                "reformat your input and try again."
            )
        return int(dims)

    def direct(self, body: dict[str, Any], prompt: Prompt, model_id: str) -> Generation:
        total, _ = engine.count_input(prompt)
        gen = Generation("", [], "end_turn", Usage(input_tokens=total))
        normalize = body.get("normalize", True) is not False
        gen.embedding = engine.embed(
            prompt.last_user_text(), model_id, self.dimensions(body, model_id), normalize=normalize
        )
        gen.latency_ms = engine.latency_for(gen.usage)
        return gen

    def response(self, gen: Generation, model_id: str, request_id: str) -> dict[str, Any]:
        out: dict[str, Any] = {"embedding": gen.embedding, "inputTextTokenCount": gen.usage.input_tokens}
        if "v2" in model_id:
            out["embeddingsByType"] = {"float": gen.embedding}
        return out


FORMATS: dict[str, BodyFormat] = {
    f.name: f
    for f in (
        AnthropicMessages(),
        NovaMessages(),
        TitanText(),
        Llama(),
        Mistral(),
        TitanEmbeddings(),
        CohereCommandR(),
        CohereEmbed(),
        Jamba(),
        ImageGeneration(),
    )
}


def format_for(model_id: str, declared: str | None = None) -> BodyFormat | None:
    """The body format of a foundation model: the catalog's ``body_format`` if we know it, else by id."""
    if declared and declared in FORMATS:
        return FORMATS[declared]
    mid = model_id.lower()
    for prefix, name in (
        ("anthropic.", "anthropic-messages"),
        ("amazon.nova-canvas", "titan-image"),
        ("amazon.titan-image", "titan-image"),
        ("amazon.nova", "nova"),
        ("cohere.command-r", "cohere-command-r"),
        ("cohere.embed", "cohere-embed"),
        ("ai21.jamba", "ai21-jamba"),
        ("amazon.titan-embed", "titan-embed"),
        ("amazon.titan-text", "titan-text"),
        ("amazon.titan-tg", "titan-text"),
        ("meta.", "llama"),
        ("mistral.", "mistral"),
    ):
        if mid.startswith(prefix):
            return FORMATS[name]
    return None
