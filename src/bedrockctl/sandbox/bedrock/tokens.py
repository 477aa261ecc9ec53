"""The sandbox's token arithmetic: a documented, deterministic approximation of a tokenizer.

Rules (the same for every model, so tests can compute expected counts by hand):

- a text counts ``ceil(len(text.encode("utf-8")) / 4)`` tokens (``""`` counts 0);
- every message (user or assistant turn, including each entry of a native ``messages`` list) adds
  ``MESSAGE_OVERHEAD`` = 3 tokens (a raw text prompt of Titan, Llama or Mistral adds none); a non-empty
  system prompt adds ``SYSTEM_OVERHEAD`` = 2 tokens;
- a tool definition counts the tokens of its compact JSON (``name``, ``description``, ``inputSchema``);
- a tool-use or tool-result block counts the tokens of its compact JSON input / content;
- an image, video or audio block counts ``MEDIA_TOKENS`` = 1600 tokens; a document block counts its
  text, or its bytes as ``ceil(len / 4)``;
- output tokens are the tokens of the generated text plus the tokens of generated tool-use JSON.

AWS reports ``inputTokens`` without the cached prefix: when a ``cachePoint`` is honoured, the prefix tokens
are reported as ``cacheWriteInputTokens`` (first sight) or ``cacheReadInputTokens`` (later), and
``totalTokens = inputTokens + outputTokens + cacheReadInputTokens + cacheWriteInputTokens``.
"""

from __future__ import annotations

import json
import math
from typing import Any

MESSAGE_OVERHEAD = 3
SYSTEM_OVERHEAD = 2
MEDIA_TOKENS = 1600
BYTES_PER_TOKEN = 4


def text_tokens(text: str) -> int:
    """Tokens of one text: one token per started group of 4 UTF-8 bytes."""
    return math.ceil(len(text.encode("utf-8")) / BYTES_PER_TOKEN)


def json_tokens(value: Any) -> int:
    """Tokens of a JSON value, counted on its compact serialisation."""
    return text_tokens(json.dumps(value, separators=(",", ":"), sort_keys=True, default=str))


def truncate_to_tokens(text: str, max_tokens: int) -> str:
    """The longest prefix of ``text`` (whole characters) that counts at most ``max_tokens`` tokens."""
    budget = max(max_tokens, 0) * BYTES_PER_TOKEN
    raw = text.encode("utf-8")
    if len(raw) <= budget:
        return text
    return raw[:budget].decode("utf-8", errors="ignore")
