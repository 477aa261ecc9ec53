"""The console playground's bookkeeping: the per-user ``playground`` gateway key, the models an environment offers,
the request body of one prompt, and the audit record of a call (its usage and exact cost).

The playground calls the gateway like any client (``server/console/gateway_call.py``): with a gateway key of the
signed-in user, named ``playground``, bound to the user's name and team and to the environment picked. Its bearer
token is dropped when the key is minted (only its hash is stored, as for every key): the console signs with the
key's SigV4 pair instead, whose secret the server derives from its master secret. The key shows on the Keys page
and is revoked like any other; the next prompt then mints a fresh one.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from bedrockctl.errors import ValidationFailed
from bedrockctl.runtime.resolve import ALIASES
from bedrockctl.services.console_data import KeyAccess
from bedrockctl.services.users import Actor
from bedrockctl.store.audit import NANO, AuditRecord, query

KEY_NAME = "playground"
MAX_PROMPT_CHARS = 100_000
MAX_OUTPUT_TOKENS = 64_000


@dataclass(frozen=True)
class ModelChoice:
    model: str  # what the playground sends (an alias or a model id)
    label: str  # shown: "alias — model id", or the id


def model_choices(settings: Any, environment: str) -> list[ModelChoice]:
    """The models ``environment`` allows (its ``allowed_models``), else the catalog's aliases; aliases are shown
    beside the id they stand for. Embedding models are left out (they do not converse)."""
    env = settings.environments.get(environment)
    allowed = list(env.allowed_models) if env is not None else []
    by_id: dict[str, list[str]] = {}
    for alias, model_id in ALIASES.items():
        if not alias.endswith("-latest"):
            by_id.setdefault(model_id, []).append(alias)
    if allowed:
        out = []
        for name in allowed:
            target = ALIASES.get(name.lower())
            if target is not None:
                out.append(ModelChoice(name, f"{name} — {target}"))
            else:
                names = ", ".join(by_id.get(name, []))
                out.append(ModelChoice(name, f"{names} — {name}" if names else name))
        return out
    return [
        ModelChoice(alias, f"{alias} — {model_id}")
        for alias, model_id in sorted(ALIASES.items())
        if not alias.endswith("-latest") and "embed" not in model_id
    ]


@dataclass(frozen=True)
class Prompt:
    environment: str
    model: str
    prompt: str
    system: str = ""
    max_tokens: int | None = None
    temperature: float | None = None

    @classmethod
    def from_form(cls, form: dict[str, str], default_environment: str) -> Prompt:
        """Checked input; bad values raise ``ValidationFailed`` naming the field."""
        model = form.get("model", "").strip()
        prompt = form.get("prompt", "")
        if not model or len(model) > 200 or any(c.isspace() for c in model):
            raise ValidationFailed("Pick a model.")
        if not prompt.strip():
            raise ValidationFailed("Type a prompt.")
        if len(prompt) + len(form.get("system", "")) > MAX_PROMPT_CHARS:
            raise ValidationFailed(f"The prompt is too long (at most {MAX_PROMPT_CHARS} characters).")
        max_tokens: int | None = None
        if form.get("max_tokens", "").strip():
            try:
                max_tokens = int(form["max_tokens"])
            except ValueError:
                raise ValidationFailed("Max tokens must be a whole number.") from None
            if not 1 <= max_tokens <= MAX_OUTPUT_TOKENS:
                raise ValidationFailed(f"Max tokens must be between 1 and {MAX_OUTPUT_TOKENS}.")
        temperature: float | None = None
        if form.get("temperature", "").strip():
            try:
                temperature = float(form["temperature"])
            except ValueError:
                raise ValidationFailed("Temperature must be a number.") from None
            if not 0.0 <= temperature <= 1.0:
                raise ValidationFailed("Temperature must be between 0 and 1.")
        return cls(
            environment=form.get("environment", "").strip() or default_environment,
            model=model,
            prompt=prompt,
            system=form.get("system", "").strip(),
            max_tokens=max_tokens,
            temperature=temperature,
        )

    def converse_body(self) -> dict[str, Any]:
        """The ConverseStream request of this prompt."""
        doc: dict[str, Any] = {"messages": [{"role": "user", "content": [{"text": self.prompt}]}]}
        if self.system:
            doc["system"] = [{"text": self.system}]
        cfg: dict[str, Any] = {}
        if self.max_tokens is not None:
            cfg["maxTokens"] = self.max_tokens
        if self.temperature is not None:
            cfg["temperature"] = self.temperature
        if cfg:
            doc["inferenceConfig"] = cfg
        return doc


def playground_key(keys: KeyAccess, actor: Actor, environment: str) -> str:
    """The id of ``actor``'s active playground key for ``environment``, minted on first use (its token is not kept:
    the console signs with the key's SigV4 pair)."""
    for rec in keys.keys.list(include_inactive=False):
        if (
            rec.name == KEY_NAME
            and rec.user == actor.username
            and rec.team == actor.team
            and rec.environment == environment
        ):
            return str(rec.key_id)
    created = keys.create(actor, environment=environment, name=KEY_NAME)
    return str(created["key_id"])


@dataclass(frozen=True)
class CallCost:
    request_id: str
    model: str
    input_tokens: int
    output_tokens: int
    cost_nusd: int
    status: str

    @property
    def cost_usd(self) -> Decimal:
        """Exact (nano-USD)."""
        return Decimal(self.cost_nusd) / NANO

    def public(self) -> dict[str, Any]:
        return {
            "request_id": self.request_id,
            "model": self.model,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "cost_usd": f"{self.cost_usd:.9f}",
            "status": self.status,
        }


def call_record(engine: Any, key_id: str, since: float) -> CallCost | None:
    """The audit record of the key's latest call that started at or after ``since`` (None while not written)."""
    recs: list[AuditRecord] = list(query(engine, key_id=key_id, since=since, limit=1))
    if not recs:
        return None
    r = recs[-1]
    return CallCost(
        request_id=r.request_id,
        model=r.model_served or r.model_requested or "",
        input_tokens=r.input_tokens,
        output_tokens=r.output_tokens,
        cost_nusd=r.cost_nusd,
        status=r.status,
    )
