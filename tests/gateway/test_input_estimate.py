"""The gateway's input estimate is an upper bound of what the model bills: compared with the sandbox's billed
``inputTokens`` (over real HTTP) for tool-heavy, system-heavy, multi-part, document and image requests, and with
the sandbox's tokenizer rule on any text (hypothesis)."""

from __future__ import annotations

import base64
import json
import struct
import zlib
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from bedrockctl.sandbox.bedrock import tokens as sandbox_tokens
from bedrockctl.server.gateway import input_estimate
from bedrockctl.server.gateway.input_estimate import InputEstimator, json_tokens, text_tokens
from bedrockctl.server.gateway.streaming import PartialUsage
from bedrockctl.server.gateway.validate import model_limits

from .conftest import HAIKU

NOVA = "amazon.nova-lite-v1:0"


def png(width: int, height: int) -> bytes:
    """A real (grey) PNG of the given size."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + b"\x80" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def tool_heavy() -> dict[str, Any]:
    """The probe that found the overspend: a tool schema of 40 long property names (keys, not values)."""
    props = {f"customer_account_shipping_destination_property_number_{i:02d}": {"type": "string"} for i in range(40)}
    schema = {"type": "object", "properties": props, "required": list(props)}
    tools = [{"toolSpec": {"name": f"tool_{n}", "inputSchema": {"json": schema}}} for n in range(3)]
    return {
        "messages": [{"role": "user", "content": [{"text": "fill the form"}]}],
        "toolConfig": {"tools": tools},
        "inferenceConfig": {"maxTokens": 10},
    }


def system_heavy() -> dict[str, Any]:
    system = [
        {"text": f"Rule {i}: answer in the style of a 19th-century telegram, 0123456789. " * 8} for i in range(20)
    ]
    return {"system": system, "messages": [{"role": "user", "content": [{"text": "hi"}]}]}


def multi_part() -> dict[str, Any]:
    return {
        "messages": [
            {"role": "user", "content": [{"text": "Größe? 価格は 🙂" * 20}, {"text": "3.14159265358979 " * 30}]},
            {
                "role": "assistant",
                "content": [{"toolUse": {"toolUseId": "t1", "name": "lookup", "input": {"ids": list(range(200))}}}],
            },
            {
                "role": "user",
                "content": [
                    {
                        "toolResult": {
                            "toolUseId": "t1",
                            "content": [{"json": {"rows": [{"id": i, "v": i * 7} for i in range(100)]}}],
                        }
                    },
                    {"text": "and now?"},
                ],
            },
        ]
    }


def document() -> dict[str, Any]:
    pdf = b"%PDF-1.4\n" + bytes(range(256)) * 40
    return {
        "messages": [
            {
                "role": "user",
                "content": [
                    {
                        "document": {
                            "format": "pdf",
                            "name": "report",
                            "source": {"bytes": base64.b64encode(pdf).decode()},
                        }
                    },
                    {"document": {"format": "txt", "name": "notes", "source": {"text": "line of notes\n" * 200}}},
                    {"text": "summarise both"},
                ],
            }
        ]
    }


def image() -> dict[str, Any]:
    pictures = [
        {"image": {"format": "png", "source": {"bytes": base64.b64encode(png(w, h)).decode()}}}
        for w, h in ((8, 8), (64, 32), (400, 300))
    ]
    return {"messages": [{"role": "user", "content": [*pictures, {"text": "what is in these?"}]}]}


CASES = {
    "tool-heavy": tool_heavy,
    "system-heavy": system_heavy,
    "multi-part": multi_part,
    "document": document,
    "image": image,
}


def _billed(client: Any, model: str, body: dict[str, Any]) -> int:
    wire = json.loads(json.dumps(body))
    for m in wire["messages"]:  # boto3 takes blobs as bytes
        for block in m["content"]:
            for kind in ("image", "document"):
                src = block.get(kind, {}).get("source", {})
                if "bytes" in src:
                    src["bytes"] = base64.b64decode(src["bytes"])
    return int(client.converse(modelId=model, **wire)["usage"]["inputTokens"])


def test_estimate_is_at_least_what_the_sandbox_bills(boto_client: Any) -> None:
    client = boto_client("bedrock-runtime")
    report = {}
    for model in (HAIKU, NOVA):
        estimator = model_limits(model).estimator
        for name, make in CASES.items():
            body = make()
            billed = _billed(client, model, body)
            estimate = estimator.converse(body)
            report[(model, name)] = (estimate, billed)
            assert estimate >= billed, (model, name, estimate, billed)
    print({k: f"{e} >= {b}" for k, (e, b) in report.items()})
    # the probe's body: 1,486 tokens billed, 326 estimated before; now the schema's keys count
    estimate, billed = report[(HAIKU, "tool-heavy")]
    assert estimate >= 2 * billed - 2000  # ASCII at 2 bytes per token against the sandbox's 4


def test_native_anthropic_body_estimate_is_at_least_what_the_sandbox_bills(boto_client: Any) -> None:
    client = boto_client("bedrock-runtime")
    props = {f"a_rather_long_property_name_number_{i}": {"type": "integer"} for i in range(40)}
    body = {
        "anthropic_version": "bedrock-2023-05-31",
        "max_tokens": 10,
        "system": "You are terse. " * 50,
        "tools": [{"name": "t", "description": "d", "input_schema": {"type": "object", "properties": props}}],
        "messages": [
            {
                "role": "user",
                "content": [
                    {
                        "type": "image",
                        "source": {
                            "type": "base64",
                            "media_type": "image/png",
                            "data": base64.b64encode(png(32, 32)).decode(),
                        },
                    },
                    {"type": "text", "text": "describe"},
                ],
            }
        ],
    }
    resp = client.invoke_model(modelId=HAIKU, body=json.dumps(body))
    billed = int(resp["ResponseMetadata"]["HTTPHeaders"]["x-amzn-bedrock-input-token-count"])
    assert model_limits(HAIKU).estimator.native(body) >= billed > 0


def test_images_and_documents_use_their_own_bounds_not_their_base64() -> None:
    estimator = InputEstimator("anthropic", 200_000)
    one = {"messages": [{"role": "user", "content": [image()["messages"][0]["content"][2]]}]}
    big = base64.b64encode(png(400, 300) + b"\x00" * 3_000_000).decode()  # a 3 MB image is still one image
    heavy = {"messages": [{"role": "user", "content": [{"image": {"format": "png", "source": {"bytes": big}}}]}]}
    assert 1_600 <= estimator.converse(one) < 1_700
    assert estimator.converse(heavy) == estimator.converse(one)
    nova = InputEstimator("amazon", 300_000)
    assert nova.converse(heavy) >= 6_500  # non-Anthropic image bound
    s3 = {
        "messages": [
            {"role": "user", "content": [{"video": {"format": "mp4", "source": {"s3Location": {"uri": "s3://b/k"}}}}]}
        ]
    }
    assert nova.converse(s3) == 300_000  # unknown size: the whole context window, and never more


def test_the_context_window_caps_the_estimate() -> None:
    estimator = InputEstimator("anthropic", 1_000)
    body = {"messages": [{"role": "user", "content": [{"text": "x" * 50_000}]}]}
    assert estimator.converse(body) == 1_000
    assert InputEstimator("anthropic", None).converse(body) > 25_000


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=400))
def test_text_bound_exceeds_the_sandbox_tokenizer_and_half_the_bytes(text: str) -> None:
    n = text_tokens(text)
    assert n >= sandbox_tokens.text_tokens(text)
    assert n >= len(text.encode("utf-8", "surrogatepass")) / 2
    digits = sum(c.isascii() and c.isdigit() for c in text)
    assert n >= digits  # a tokenizer may split numbers digit by digit


@settings(max_examples=200, deadline=None)
@given(
    st.recursive(
        st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.text(max_size=30),
        lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=20), inner, max_size=5),
        max_leaves=30,
    )
)
def test_json_bound_exceeds_the_sandbox_tokenizer_keys_included(value: Any) -> None:
    assert json_tokens(value) >= sandbox_tokens.json_tokens(value)


def test_an_estimated_stream_output_never_passes_the_output_limit() -> None:
    """A stream cut short is charged an estimate (its input's, and the text relayed); with the estimate's generous
    ratios the relayed text could count more than the call may produce, so it stops at the call's output limit:
    our own estimate never makes a call look as if it overspent its reservation."""
    partial = PartialUsage(est_input=120, max_output=5)
    for _ in range(20):
        partial.feed("contentBlockDelta", {"delta": {"text": "Hello"}})
    assert partial.usage().input_tokens == 120 and partial.usage().output_tokens == 5
    unbounded = PartialUsage(est_input=120)
    unbounded.feed("contentBlockDelta", {"delta": {"text": "Hello"}})
    assert unbounded.usage().output_tokens == text_tokens("Hello")


_KEYS = st.sampled_from(
    [
        "text",
        "messages",
        "content",
        "role",
        "image",
        "document",
        "video",
        "audio",
        "source",
        "type",
        "bytes",
        "input",
        "toolConfig",
        "system",
        "format",
        "imagery",
        "name",
    ]
)
_SOURCE = st.fixed_dictionaries(
    {},
    optional={
        "type": st.sampled_from(["base64", "text"]),
        "data": st.text(max_size=12),
        "bytes": st.text(max_size=8),
        "text": st.text(max_size=8),
    },
)
_MEDIA = st.fixed_dictionaries(
    {"type": st.sampled_from(["image", "document", "video", "audio", "text"]), "source": _SOURCE}
) | st.one_of(
    *(
        st.fixed_dictionaries({k: st.fixed_dictionaries({"format": st.just("png"), "source": _SOURCE})})
        for k in ("image", "document", "video", "audio")
    )
)
_JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(10**6), 10**6)
    | st.text(max_size=12)
    | st.sampled_from(["image", "x"])
    | _MEDIA,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_KEYS, inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(doc=st.dictionaries(_KEYS | st.just("inferenceConfig"), _JSON, max_size=5), native=st.booleans())
def test_the_shortcut_for_bodies_without_media_keys_counts_as_the_walk(doc: dict[str, Any], native: bool) -> None:
    """``_tokens`` skips ``_strip`` when the body's JSON names no media key: same count as the walk, for bodies
    with and without media (the walk's own result is the reference)."""
    est = InputEstimator("anthropic", None)
    value = {k: v for k, v in doc.items() if k != "inferenceConfig"} if not native else doc
    media = [0]
    walked = json_tokens(est._strip(value, media, native)) + media[0]
    keys = input_estimate._NATIVE_MEDIA_KEYS if native else input_estimate._CONVERSE_MEDIA_KEYS
    assert est._tokens(value, keys, native) == walked
