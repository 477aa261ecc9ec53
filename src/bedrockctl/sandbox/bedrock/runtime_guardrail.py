"""Guardrail evaluation for Converse / InvokeModel and the ApplyGuardrail operation.

The sandbox's guardrail "classifier" is literal matching, so tests can aim at it:

- the word ``BLOCKME`` always triggers the word policy (a built-in custom word);
- a guardrail's custom words (``wordPolicy.words[].text``) match case-insensitively on word boundaries;
- a denied topic (``topicPolicy.topics[]``) matches when its name or one of its examples appears in the text.

Guardrail definitions come from the control plane (``control.get_guardrail(account, region, id, version)``
returning the GetGuardrail response shape, or None when unknown). Until that function exists every identifier
is accepted and only ``BLOCKME`` triggers. When a guardrail blocks the input the model is not invoked: the
reply is the guardrail's ``blockedInputMessaging`` and no model tokens are counted.

Units (``GuardrailUsage``): one text unit per started 1,000 characters evaluated, counted for each configured
policy: content filters, denied topics, word filters, sensitive information (PII entities are billed; a guardrail
with regexes only reports ``sensitiveInformationPolicyFreeUnits``) and contextual grounding.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

from bedrockctl.sandbox.core import ROUTER, AwsError, SandboxRequest, SandboxResponse

from .runtime_resolve import _control

TRIGGER = "BLOCKME"
DEFAULT_BLOCKED = "Sorry, the model cannot answer this question."
NOT_FOUND = "The guardrail identifier or version provided in the request does not exist."
_GUARDRAIL_ARN = re.compile(r"^arn:aws(?:-[a-z-]+)?:bedrock:[a-z0-9-]+:\d{12}:guardrail/(?P<id>[a-z0-9]+)$")


@dataclass
class Guardrail:
    guardrail_id: str
    version: str
    arn: str
    words: list[str] = field(default_factory=list)
    topics: list[tuple[str, list[str]]] = field(default_factory=list)  # (name, examples)
    blocked_input: str = DEFAULT_BLOCKED
    blocked_output: str = DEFAULT_BLOCKED
    policies: frozenset[str] = frozenset()  # content | topic | word | pii | regex | grounding (configured ones)


@dataclass
class Verdict:
    intervened: bool
    assessment: dict[str, Any]
    characters: int
    units: int


def find_guardrail(req: SandboxRequest, identifier: str, version: str) -> Guardrail | None:
    m = _GUARDRAIL_ARN.match(identifier)
    gid = m.group("id") if m else identifier
    arn = identifier if m else f"arn:aws:bedrock:{req.region}:{req.account_id}:guardrail/{gid}"
    fn = _control("get_guardrail")
    if fn is None:
        return Guardrail(gid, version or "DRAFT", arn)
    found = fn(req.account_id, req.region, gid, version or "DRAFT")
    if not found:
        return None
    words = [w.get("text", "") for w in (found.get("wordPolicy") or {}).get("words") or [] if w.get("text")]
    topics = [
        (t.get("name", ""), list(t.get("examples") or [])) for t in (found.get("topicPolicy") or {}).get("topics") or []
    ]
    return Guardrail(
        found.get("guardrailId", gid),
        str(found.get("version", version)),
        found.get("guardrailArn", arn),
        words,
        topics,
        found.get("blockedInputMessaging") or DEFAULT_BLOCKED,
        found.get("blockedOutputsMessaging") or DEFAULT_BLOCKED,
        _policies(found),
    )


def _policies(found: dict[str, Any]) -> frozenset[str]:
    """The policies a GetGuardrail record configures (each one is billed in text units)."""
    sensitive = found.get("sensitiveInformationPolicy") or {}
    present = {
        "content": (found.get("contentPolicy") or {}).get("filters"),
        "topic": (found.get("topicPolicy") or {}).get("topics"),
        "word": (found.get("wordPolicy") or {}).get("words") or (found.get("wordPolicy") or {}).get("managedWordLists"),
        "pii": sensitive.get("piiEntities"),
        "regex": sensitive.get("regexes"),
        "grounding": (found.get("contextualGroundingPolicy") or {}).get("filters"),
    }
    return frozenset(name for name, value in present.items() if value)


def _contains(text: str, phrase: str) -> bool:
    return bool(phrase) and re.search(rf"(?<!\w){re.escape(phrase)}(?!\w)", text, re.IGNORECASE) is not None


def assess(guardrail: Guardrail, texts: list[str]) -> Verdict:
    """Evaluate ``texts`` against ``guardrail``; the assessment has the GuardrailAssessment shape."""
    joined = "\n".join(texts)
    custom = [{"match": TRIGGER, "action": "BLOCKED", "detected": True}] if TRIGGER in joined else []
    custom += [{"match": w, "action": "BLOCKED", "detected": True} for w in guardrail.words if _contains(joined, w)]
    topics = [
        {"name": name, "type": "DENY", "action": "BLOCKED", "detected": True}
        for name, examples in guardrail.topics
        if _contains(joined, name) or any(_contains(joined, e) for e in examples)
    ]
    chars = len(joined)
    units = max(math.ceil(chars / 1000), 1) if chars else 0  # a text unit is up to 1,000 characters
    policies = guardrail.policies

    def billed(*names: str) -> int:
        return units if any(n in policies for n in names) else 0

    usage = {
        "topicPolicyUnits": units if guardrail.topics else 0,
        "contentPolicyUnits": billed("content"),
        "wordPolicyUnits": units,  # the sandbox's trigger word makes every guardrail a word filter
        "sensitiveInformationPolicyUnits": billed("pii"),
        "sensitiveInformationPolicyFreeUnits": units if "regex" in policies and "pii" not in policies else 0,
        "contextualGroundingPolicyUnits": billed("grounding"),
    }
    assessment: dict[str, Any] = {}
    if custom:
        assessment["wordPolicy"] = {"customWords": custom, "managedWordLists": []}
    if topics:
        assessment["topicPolicy"] = {"topics": topics}
    assessment["invocationMetrics"] = {
        "guardrailProcessingLatency": 40 + units,
        "usage": usage,
        "guardrailCoverage": {"textCharacters": {"guarded": chars, "total": chars}},
    }
    assessment["appliedGuardrailDetails"] = {
        "guardrailId": guardrail.guardrail_id,
        "guardrailVersion": guardrail.version,
        "guardrailArn": guardrail.arn,
        "guardrailOrigin": ["REQUEST"],
        "guardrailOwnership": "SELF",
    }
    return Verdict(bool(custom or topics), assessment, chars, units)


def converse_trace(guardrail: Guardrail, verdict: Verdict, output: Verdict | None, reply: str) -> dict[str, Any]:
    """The ``trace.guardrail`` object of a Converse response (GuardrailTraceAssessment)."""
    trace: dict[str, Any] = {"inputAssessment": {guardrail.guardrail_id: verdict.assessment}}
    if output is not None:
        trace["modelOutput"] = [reply]
        trace["outputAssessments"] = {guardrail.guardrail_id: [output.assessment]}
    if verdict.intervened or (output is not None and output.intervened):
        trace["actionReason"] = "Guardrail blocked."
    return trace


_VERSION = re.compile(r"^(DRAFT|[1-9][0-9]{0,7})$")


@ROUTER.route("bedrock-runtime", "POST", r"/guardrail/(?P<guardrail_id>.+)/version/(?P<version>[^/]+)/apply")
def apply_guardrail(req: SandboxRequest, guardrail_id: str, version: str) -> SandboxResponse:
    body = req.json()
    if not _VERSION.match(version):
        raise AwsError(
            "ValidationException",
            f"1 validation error detected: Value '{version}' at "
            "'guardrailVersion' failed to satisfy constraint: Member must satisfy regular expression "
            "pattern: (|([1-9][0-9]{0,7})|(DRAFT))",
        )
    source = body.get("source")
    if source not in ("INPUT", "OUTPUT"):
        raise AwsError(
            "ValidationException",
            f"1 validation error detected: Value '{source}' at 'source' failed "
            "to satisfy constraint: Member must satisfy enum value set: [INPUT, OUTPUT]",
        )
    content = body.get("content")
    if not isinstance(content, list):
        raise AwsError(
            "ValidationException",
            "1 validation error detected: Value null at 'content' failed to "
            "satisfy constraint: Member must not be null",
        )
    guardrail = find_guardrail(req, guardrail_id, version)
    if guardrail is None:
        raise AwsError("ResourceNotFoundException", NOT_FOUND, 404)
    texts = [str((c.get("text") or {}).get("text", "")) for c in content if isinstance(c, dict) and "text" in c]
    verdict = assess(guardrail, texts)
    message = guardrail.blocked_input if source == "INPUT" else guardrail.blocked_output
    coverage = {"textCharacters": {"guarded": verdict.characters, "total": verdict.characters}}
    out: dict[str, Any] = {
        "usage": verdict.assessment["invocationMetrics"]["usage"],
        "action": "GUARDRAIL_INTERVENED" if verdict.intervened else "NONE",
        "outputs": [{"text": message}] if verdict.intervened else [],
        "assessments": [verdict.assessment],
        "guardrailCoverage": coverage,
    }
    if verdict.intervened:
        out["actionReason"] = "Guardrail blocked."
    return SandboxResponse.json(out)
