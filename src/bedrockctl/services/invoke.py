"""Use cases behind ``bedrockctl invoke``, ``chat`` and ``agent``: build the runtime, parse inputs, keep history."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bedrockctl.errors import ConfigError, ValidationFailed
from bedrockctl.runtime import Runtime
from bedrockctl.runtime.types import CallMeta, Usage

_IMAGE_FORMATS = {".png": "png", ".jpg": "jpeg", ".jpeg": "jpeg", ".gif": "gif", ".webp": "webp"}


def runtime_for(ctx: Any, **kwargs: Any) -> Runtime:
    return Runtime.from_context(ctx, **kwargs)


def parse_tags(pairs: list[str]) -> dict[str, str]:
    tags: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise ValidationFailed(f"--tag {pair!r} is not key=value", remediation="Pass tags as --tag team=search.")
        tags[key.strip()] = value.strip()
    return tags


def load_image(path: str) -> tuple[bytes, str]:
    p = Path(path)
    fmt = _IMAGE_FORMATS.get(p.suffix.lower())
    if fmt is None:
        raise ValidationFailed(f"{path}: unsupported image type", remediation="Use a png, jpeg, gif or webp file.")
    try:
        return p.read_bytes(), fmt
    except OSError as exc:
        raise ValidationFailed(f"{path}: cannot read ({exc.strerror})") from exc


def agent_ids(ctx: Any, agent_id: str | None, alias_id: str | None) -> tuple[str, str]:
    d = ctx.settings.defaults
    a = agent_id or d.agent_id or os.environ.get("BEDROCK_AGENT_ID")
    b = alias_id or d.agent_alias_id or os.environ.get("BEDROCK_AGENT_ALIAS_ID")
    if not a or not b:
        raise ConfigError(
            "No agent id / alias id given",
            remediation="Pass --agent-id and --agent-alias-id, or set BEDROCK_AGENT_ID and BEDROCK_AGENT_ALIAS_ID.",
        )
    return a, b


@dataclass
class ChatSession:
    """An interactive conversation: history, model switching, running usage totals."""

    runtime: Runtime
    model: str
    system: str | None = None
    history: list[dict[str, Any]] = field(default_factory=list)
    usage: Usage = field(default_factory=Usage)
    calls: list[CallMeta] = field(default_factory=list)

    def ask(self, text: str, **kwargs: Any) -> Any:
        """Stream the answer to ``text`` (yields StreamEvents); the history keeps both turns."""
        self.history.append({"role": "user", "content": [{"text": text}]})
        reply: list[str] = []
        try:
            for ev in self.runtime.converse_stream(self.model, list(self.history), system=self.system, **kwargs):
                if ev.kind == "text":
                    reply.append(ev.text)
                if ev.kind == "usage" and ev.meta is not None:
                    self._add(ev.meta)
                yield ev
        except BaseException:
            self.history.pop()
            raise
        self.history.append({"role": "assistant", "content": [{"text": "".join(reply) or "(no text)"}]})

    def _add(self, meta: CallMeta) -> None:
        self.calls.append(meta)
        for name in (
            "input_tokens",
            "output_tokens",
            "cache_read_tokens",
            "cache_write_tokens",
            "cache_write_1h_tokens",
        ):
            setattr(self.usage, name, getattr(self.usage, name) + getattr(meta.usage, name))

    def cost(self) -> Any:
        from decimal import Decimal

        return sum((m.cost_usd or Decimal(0) for m in self.calls), Decimal(0))

    def command(self, line: str) -> str | None:
        """Handle ``/model X``, ``/usage``, ``/exit``; returns the text to print, or None to exit."""
        name, _, arg = line.strip().partition(" ")
        if name in ("/exit", "/quit"):
            return None
        if name == "/model":
            if arg.strip():
                self.runtime.planner().plan(arg.strip())  # validate now (resolution, allowed models)
                self.model = arg.strip()
            return f"model: {self.model}"
        if name == "/usage":
            u = self.usage
            return (
                f"calls: {len(self.calls)}  input: {u.input_tokens}  output: {u.output_tokens}  "
                f"cache read: {u.cache_read_tokens}  cache write: {u.cache_write_tokens + u.cache_write_1h_tokens}  "
                f"cost: ${self.cost():.6f}"
            )
        if name == "/clear":
            self.history.clear()
            return "history cleared"
        return "commands: /model [id], /usage, /clear, /exit"
