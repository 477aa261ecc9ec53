"""Image generation bodies of Amazon Titan Image Generator and Amazon Nova Canvas.

Request: ``taskType`` (``TEXT_IMAGE``, ``COLOR_GUIDED_GENERATION``, ``IMAGE_VARIATION``, ``INPAINTING``,
``OUTPAINTING``, ``BACKGROUND_REMOVAL``...), the task's parameters (``textToImageParams.text`` ...) and
``imageGenerationConfig`` (``numberOfImages``, ``width``, ``height``, ``seed``, ``cfgScale``, ``quality``).
Reply: ``{"images": [<base64 PNG>, ...]}``. The sandbox's images are valid PNGs of the requested size, one
flat colour each, derived from the model, prompt, seed and index (so the same request gives the same images).
Input tokens are the prompt's text tokens; image models report no output tokens.
"""

from __future__ import annotations

import base64
import hashlib
import struct
import zlib
from typing import Any

from . import runtime_engine as engine
from .formats import Generation, Prompt, Turn, Usage, text_block
from .formats_native import BodyFormat, _require

_PARAMS_OF_TASK = {
    "TEXT_IMAGE": "textToImageParams",
    "COLOR_GUIDED_GENERATION": "colorGuidedGenerationParams",
    "IMAGE_VARIATION": "imageVariationParams",
    "INPAINTING": "inPaintingParams",
    "OUTPAINTING": "outPaintingParams",
    "BACKGROUND_REMOVAL": "backgroundRemovalParams",
    "VIRTUAL_TRY_ON": "virtualTryOnParams",
}


def png(width: int, height: int, rgb: tuple[int, int, int]) -> bytes:
    """A ``width`` x ``height`` PNG filled with ``rgb`` (8-bit truecolour, no interlace)."""

    def chunk(tag: bytes, payload: bytes) -> bytes:
        return struct.pack(">I", len(payload)) + tag + payload + struct.pack(">I", zlib.crc32(tag + payload))

    row = b"\x00" + bytes(rgb) * width
    packer = zlib.compressobj(6)
    data = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", data) + chunk(b"IEND", b"")


class ImageGeneration(BodyFormat):
    name = "titan-image"
    streaming = False

    def parse(self, body: dict[str, Any]) -> Prompt:
        _require(body, "taskType")
        params = body.get(_PARAMS_OF_TASK.get(str(body["taskType"]), "")) or {}
        text = str(params.get("text", "")) if isinstance(params, dict) else ""
        return Prompt(turns=[Turn("user", [text_block(text)])], message_overhead=False)

    def direct(self, body: dict[str, Any], prompt: Prompt, model_id: str) -> Generation:
        cfg = body.get("imageGenerationConfig") or {}
        count = int(cfg.get("numberOfImages", 1))
        width, height = int(cfg.get("width", 1024)), int(cfg.get("height", 1024))
        seed = cfg.get("seed", 0)
        total, _ = engine.count_input(prompt)
        gen = Generation("", [], "end_turn", Usage(input_tokens=total))
        for index in range(count):
            digest = hashlib.sha256(f"{model_id}:{prompt.last_user_text()}:{seed}:{index}".encode()).digest()
            gen.images.append(base64.b64encode(png(width, height, (digest[0], digest[1], digest[2]))).decode())
        gen.latency_ms = engine.latency_for(gen.usage)
        return gen

    def response(self, gen: Generation, model_id: str, request_id: str) -> dict[str, Any]:
        return {"images": list(gen.images)}
