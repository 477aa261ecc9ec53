"""An upper bound on the input tokens a model will bill for a request body, so that a reservation made before the
call cannot fall short of what the call costs. Pure functions, no I/O.

What a model bills as input is its tokenizer's count of everything it is shown: the system prompt, the tool
definitions (their whole JSON schema, keys as well as values) and the preamble the provider adds when tools are
present, every message part (text, tool uses and results, documents, images), plus a few template tokens per
message. The estimate counts all of that on the compact JSON of the request (so keys, quotes and punctuation
count too), with media replaced by their own bounds:

- text: one token per 2 ASCII bytes, but one per digit and one per byte of every non-ASCII character. Byte-level
  BPE tokenizers (Claude, Llama 3, Nova) never produce more tokens than bytes, and reach ~1 token per byte only on
  digits (split one by one by several tokenizers) and rare characters; ASCII words and JSON punctuation average
  2.5-4 bytes per token. The sandbox's tokenizer counts 4 bytes per token, so the estimate is at least twice
  its count for ASCII, and four times for digits;
- images: Anthropic bills ``width * height / 750`` tokens after scaling an image down to at most ~1.15 megapixels
  (about 1,600 tokens); other providers tile images into patches, bounded here by ``IMAGE_TOKENS_OTHER``. The
  bound is taken for every image (the dimensions are not decoded);
- documents: their text, or one token per byte of the decoded file (``len(base64) * 3 / 4``); a document, video or
  audio in S3 and any video or audio counts the whole context window (its size is unknown here);
- template: ``MESSAGE_TOKENS`` per message, ``SYSTEM_TOKENS`` for a system prompt and ``TOOLS_TOKENS`` for the
  tool-use preamble (Anthropic documents 264-530 tokens depending on the model and ``tool_choice``).

A model never bills more input than its context window (a longer request is refused unbilled), so the estimate is
capped there when the window is known. What is left (a tokenizer that beats these ratios, a compressed PDF whose
text outweighs its bytes) is caught when the call settles: see ``overshoot.py`` and docs/gateway.md.
"""

from __future__ import annotations

from typing import Any

import orjson

MESSAGE_TOKENS = 8
SYSTEM_TOKENS = 8
TOOLS_TOKENS = 600
IMAGE_TOKENS_ANTHROPIC = 1_600
IMAGE_TOKENS_OTHER = 6_500
UNKNOWN_MEDIA_TOKENS = 200_000  # a video/audio/S3 object when the context window is unknown
_ASCII = bytes(range(128))
_NOT_DIGITS = bytes(b for b in range(256) if not 48 <= b <= 57)
_MEDIA = frozenset({"image", "video", "audio"})
_OPAQUE = frozenset({"input", "json", "inputSchema", "input_schema"})  # caller data: all text, never media
# Keys ``_strip`` acts on, as they appear in compact JSON (orjson writes a key's letters unescaped): a body whose
# serialisation has none of them is its own skeleton, counted without the walk.
_CONVERSE_MEDIA_KEYS = (b'"image"', b'"video"', b'"audio"', b'"document"')
_NATIVE_MEDIA_KEYS = (*_CONVERSE_MEDIA_KEYS, b'"source"')


def text_tokens(text: str | bytes) -> int:
    """An upper bound on the tokens of one text (see the module doc for the ratios)."""
    raw = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text
    if not raw:
        return 0
    non_ascii = len(raw.translate(None, _ASCII))
    digits = len(raw.translate(None, _NOT_DIGITS))
    ascii_rest = len(raw) - non_ascii - digits
    return (ascii_rest + 1) // 2 + digits + non_ascii + 1


def json_tokens(value: Any) -> int:
    """An upper bound on the tokens of a JSON value, counted on its compact serialisation (keys included)."""
    try:
        raw = orjson.dumps(value)
    except (TypeError, orjson.JSONEncodeError):
        raw = repr(value).encode("utf-8", "surrogatepass")
    return text_tokens(raw)


class InputEstimator:
    """Bounds for one model: its provider (``anthropic``, ``amazon``, ``meta`` ...) and context window."""

    def __init__(self, provider: str = "", context_window: int | None = None) -> None:
        self.provider = provider
        self.context_window = context_window
        self.image_tokens = IMAGE_TOKENS_ANTHROPIC if provider == "anthropic" else IMAGE_TOKENS_OTHER
        self.whole_window = context_window or UNKNOWN_MEDIA_TOKENS

    def _cap(self, tokens: int) -> int:
        return min(tokens, self.context_window) if self.context_window else tokens

    # -- Converse (and OpenAI chat completions, translated to Converse) ------------------------------------------
    def converse(self, doc: dict[str, Any]) -> int:
        """Input tokens of a Converse body: system, tools, messages (every part), media; not ``inferenceConfig``."""
        rest = {k: v for k, v in doc.items() if k != "inferenceConfig"} if "inferenceConfig" in doc else doc
        total = self._tokens(rest, _CONVERSE_MEDIA_KEYS, native=False)
        messages = doc.get("messages")
        total += MESSAGE_TOKENS * (len(messages) if isinstance(messages, list) else 1)
        if doc.get("system"):
            total += SYSTEM_TOKENS
        tool_config = doc.get("toolConfig")
        if isinstance(tool_config, dict) and tool_config.get("tools"):
            total += TOOLS_TOKENS
        return self._cap(total)

    def _tokens(self, value: Any, media_keys: tuple[bytes, ...], native: bool) -> int:
        """Tokens of ``value`` with its media replaced by their bounds: ``json_tokens`` of the skeleton
        ``_strip`` makes, which is ``value`` itself when its JSON names no media key (the common case)."""
        try:
            raw = orjson.dumps(value)
        except (TypeError, orjson.JSONEncodeError):
            raw = None
        if raw is not None and not any(k in raw for k in media_keys):
            return text_tokens(raw)
        media = [0]
        skeleton = self._strip(value, media, native)
        return json_tokens(skeleton) + media[0]

    def _strip(self, value: Any, media: list[int], native: bool = False) -> Any:
        """``value`` without media payloads (their bounds added to ``media[0]``); ``native``: also the media blocks
        of the Messages API (``{"type": "image" | "document" | ..., "source": ...}``)."""
        if isinstance(value, list):
            return [self._strip(v, media, native) for v in value]
        if not isinstance(value, dict):
            return value
        if native and isinstance(value.get("type"), str) and value.get("source") is not None:
            bound = self._native_block(value["type"], value["source"])
            if bound is not None:
                media[0] += bound
                return {k: v for k, v in value.items() if k != "source"}
        out: dict[str, Any] = {}
        for k, v in value.items():
            if k in _OPAQUE:
                out[k] = v
            elif k in _MEDIA and isinstance(v, dict) and "source" in v:
                media[0] += self.image_tokens if k == "image" else self.whole_window
                out[k] = {key: item for key, item in v.items() if key != "source"}
            elif k == "document" and isinstance(v, dict) and isinstance(v.get("source"), dict):
                media[0] += self._document(v)
                out[k] = {key: item for key, item in v.items() if key != "source"}
            else:
                out[k] = self._strip(v, media, native)
        return out

    def _native_block(self, kind: str, source: Any) -> int | None:
        """The bound of a Messages API media block (None: not one)."""
        if kind == "document" and isinstance(source, dict) and isinstance(source.get("data"), str):
            data = source["data"]  # base64, or the text itself ("type": "text")
            return max(len(data) * 3 // 4 + 3, text_tokens(data) if source.get("type") == "text" else 0)
        if kind == "image" and isinstance(source, dict):
            return self.image_tokens
        if kind in ("video", "audio"):
            return self.whole_window
        return None

    def _document(self, doc: dict[str, Any]) -> int:
        source = doc["source"]
        if isinstance(source.get("text"), str):
            return text_tokens(source["text"])
        if "content" in source:
            return json_tokens(source["content"])
        data = source.get("bytes")
        if isinstance(data, str):
            return len(data) * 3 // 4 + 3  # one token per byte of the decoded file
        return self.whole_window  # s3Location or anything newer: its size is unknown here

    # -- InvokeModel (each provider's own body) -------------------------------------------------------------------
    def native(self, doc: Any) -> int:
        """Input tokens of a model-native JSON body: all of it, as text, but for the media blocks of the Messages
        API (``{"type": "image" | "document", "source": ...}``) and of Nova (as in Converse). A bare base64 string
        (Titan's ``inputImage``, Cohere's ``images``) counts as text: the context window caps it."""
        total = self._tokens(doc, _NATIVE_MEDIA_KEYS, native=True)
        if isinstance(doc, dict):
            messages = doc.get("messages")
            if isinstance(messages, list):
                total += MESSAGE_TOKENS * len(messages)
            if doc.get("system"):
                total += SYSTEM_TOKENS
            if doc.get("tools") or doc.get("toolConfig"):
                total += TOOLS_TOKENS
        return self._cap(total)

    def raw(self, body: bytes) -> int:
        """A body that is not JSON: one token per byte."""
        return self._cap(len(body) + 1)

    def texts(self, texts: list[str]) -> int:
        """Embedding inputs."""
        return self._cap(sum(text_tokens(t) for t in texts))
