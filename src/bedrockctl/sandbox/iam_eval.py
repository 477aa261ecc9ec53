"""A documented subset of IAM identity-policy evaluation, for the sandbox.

What is evaluated (the rest of IAM is not simulated):

- Statements of identity-based policies (inline and managed, of the user, its groups, or the role).
- ``Effect`` Allow / Deny. An explicit Deny wins over any Allow; no matching Allow is an implicit deny.
- ``Action`` / ``NotAction``: case-insensitive, with ``*`` and ``?`` wildcards (``bedrock:Invoke*``).
- ``Resource`` / ``NotResource``: case-sensitive ARN matching with ``*`` and ``?`` wildcards (a wildcard may
  span ``:`` and ``/``, as in IAM). Policy variables (``${aws:username}``) are substituted from the context.
- ``Condition`` operators: StringEquals, StringNotEquals, StringEqualsIgnoreCase, StringNotEqualsIgnoreCase,
  StringLike, StringNotLike, ArnEquals, ArnLike, ArnNotEquals, ArnNotLike, IpAddress, NotIpAddress, Bool, Null,
  DateEquals, DateNotEquals, DateLessThan, DateLessThanEquals, DateGreaterThan, DateGreaterThanEquals (ISO 8601
  times or epoch seconds, as IAM accepts), each with the ``...IfExists`` suffix; several values of one key are
  OR-ed, keys and operators are AND-ed.
  A key missing from the request context makes a positive operator false and a negated one true (IAM's rule);
  ``IfExists`` makes a missing key true. ``ForAnyValue:`` / ``ForAllValues:`` qualifiers are accepted on
  single-valued keys. Unknown operators never match (a Deny with one never applies, an Allow never allows).

Not simulated: resource-based policies, permission boundaries, SCPs, session policies, ``Principal`` in identity
policies, numeric operators.
"""

from __future__ import annotations

import fnmatch
import ipaddress
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

ALLOWED = "allowed"
EXPLICIT_DENY = "explicitDeny"
IMPLICIT_DENY = "implicitDeny"

_VAR_RE = re.compile(r"\$\{([^}]+)\}")


@dataclass
class Statement:
    """A statement that matched, with the policy it came from (for SimulatePrincipalPolicy)."""

    source_policy_id: str
    source_policy_type: str  # IAM Policy | user | group | role
    effect: str
    sid: str | None = None


@dataclass
class Decision:
    decision: str
    matched: list[Statement] = field(default_factory=list)
    missing_context_keys: list[str] = field(default_factory=list)

    @property
    def allowed(self) -> bool:
        return self.decision == ALLOWED


@dataclass
class PolicySource:
    """A policy document and where it comes from."""

    policy_id: str  # policy name (inline) or ARN (managed)
    policy_type: str  # "IAM Policy" for managed, "user" / "group" / "role" for inline
    document: Mapping[str, Any]


def parse_document(raw: str | Mapping[str, Any]) -> Mapping[str, Any]:
    """A policy document from JSON text (moto stores some documents URL-encoded)."""
    if isinstance(raw, Mapping):
        return raw
    text = raw
    if "%7B" in text[:10] or "%7b" in text[:10]:
        import urllib.parse

        text = urllib.parse.unquote(text)
    try:
        doc = json.loads(text)
    except ValueError:
        return {}
    return doc if isinstance(doc, dict) else {}


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


def _wildcard(pattern: str, value: str, *, ignore_case: bool) -> bool:
    if ignore_case:
        pattern, value = pattern.lower(), value.lower()
    if "*" not in pattern and "?" not in pattern:
        return pattern == value
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value, re.DOTALL) is not None


def _substitute(pattern: str, context: Mapping[str, Any]) -> str:
    def repl(m: re.Match[str]) -> str:
        key = m.group(1)
        if key in ("*", "?", "$"):
            return key
        value = _lookup(context, key)
        return str(value[0]) if value else m.group(0)

    return _VAR_RE.sub(repl, pattern)


def _lookup(context: Mapping[str, Any], key: str) -> list[str] | None:
    lowered = {k.lower(): v for k, v in context.items()}
    value = lowered.get(key.lower())
    if value is None:
        return None
    return [str(v) for v in _as_list(value)]


def action_matches(patterns: Iterable[str], action: str) -> bool:
    return any(_wildcard(str(p), action, ignore_case=True) for p in patterns)


def resource_matches(patterns: Iterable[str], resource: str, context: Mapping[str, Any]) -> bool:
    return any(_wildcard(_substitute(str(p), context), resource, ignore_case=False) for p in patterns)


def _ip_in(value: str, cidr: str) -> bool:
    try:
        return ipaddress.ip_address(value) in ipaddress.ip_network(cidr, strict=False)
    except ValueError:
        return False


def _bool(value: str) -> str:
    return "true" if value.strip().lower() == "true" else "false"


def _time(value: str) -> datetime | None:
    text = value.strip()
    try:
        if text.replace(".", "", 1).isdigit():
            return datetime.fromtimestamp(float(text), UTC)
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _dates(test: Any) -> Any:
    def compare(value: str, expected: str) -> bool:
        a, b = _time(value), _time(expected)
        return a is not None and b is not None and bool(test(a, b))

    return compare


_POSITIVE: dict[str, Any] = {
    "DateEquals": _dates(lambda a, b: a == b),
    "DateLessThan": _dates(lambda a, b: a < b),
    "DateLessThanEquals": _dates(lambda a, b: a <= b),
    "DateGreaterThan": _dates(lambda a, b: a > b),
    "DateGreaterThanEquals": _dates(lambda a, b: a >= b),
    "StringEquals": lambda v, e: v == e,
    "StringEqualsIgnoreCase": lambda v, e: v.lower() == e.lower(),
    "StringLike": lambda v, e: fnmatch.fnmatchcase(v, e),
    "ArnEquals": lambda v, e: v == e,
    "ArnLike": lambda v, e: _wildcard(e, v, ignore_case=False),
    "IpAddress": _ip_in,
    "Bool": lambda v, e: _bool(v) == _bool(e),
}
_NEGATED = {
    "StringNotEquals": "StringEquals",
    "StringNotEqualsIgnoreCase": "StringEqualsIgnoreCase",
    "StringNotLike": "StringLike",
    "ArnNotEquals": "ArnEquals",
    "ArnNotLike": "ArnLike",
    "DateNotEquals": "DateEquals",
    "NotIpAddress": "IpAddress",
}


def _condition_holds(operator: str, key: str, expected: Any, context: Mapping[str, Any], missing: list[str]) -> bool:
    op = operator.split(":", 1)[1] if ":" in operator else operator  # ForAnyValue:/ForAllValues:
    if_exists = op.endswith("IfExists")
    if if_exists:
        op = op[: -len("IfExists")]
    values = _lookup(context, key)
    wanted = [_substitute(str(e), context) for e in _as_list(expected)]
    if op == "Null":
        is_null = values is None
        return any(_bool(w) == ("true" if is_null else "false") for w in wanted)
    if values is None:
        if key not in missing:
            missing.append(key)
        if if_exists:
            return True
        return op in _NEGATED
    if op in _POSITIVE:
        fn = _POSITIVE[op]
        return any(fn(v, w) for v in values for w in wanted)
    if op in _NEGATED:
        fn = _POSITIVE[_NEGATED[op]]
        return not any(fn(v, w) for v in values for w in wanted)
    return False  # unknown operator: never holds


def conditions_hold(condition: Mapping[str, Any] | None, context: Mapping[str, Any], missing: list[str]) -> bool:
    for operator, clauses in (condition or {}).items():
        if not isinstance(clauses, Mapping):
            return False
        for key, expected in clauses.items():
            if not _condition_holds(str(operator), str(key), expected, context, missing):
                return False
    return True


def statement_applies(
    stmt: Mapping[str, Any], action: str, resource: str, context: Mapping[str, Any], missing: list[str]
) -> bool:
    if "Action" in stmt:
        if not action_matches(_as_list(stmt["Action"]), action):
            return False
    elif "NotAction" in stmt:
        if action_matches(_as_list(stmt["NotAction"]), action):
            return False
    else:
        return False
    if "Resource" in stmt:
        if not resource_matches(_as_list(stmt["Resource"]), resource, context):
            return False
    elif "NotResource" in stmt:
        if resource_matches(_as_list(stmt["NotResource"]), resource, context):
            return False
    else:
        return False
    return conditions_hold(stmt.get("Condition"), context, missing)


def evaluate(
    policies: Iterable[PolicySource], action: str, resource: str, context: Mapping[str, Any] | None = None
) -> Decision:
    """The decision of ``policies`` for ``action`` on ``resource`` in ``context`` (explicit deny wins)."""
    ctx = dict(context or {})
    allows: list[Statement] = []
    denies: list[Statement] = []
    missing: list[str] = []
    for source in policies:
        for stmt in _as_list(source.document.get("Statement")):
            if not isinstance(stmt, Mapping):
                continue
            effect = str(stmt.get("Effect", ""))
            if effect not in ("Allow", "Deny"):
                continue
            if statement_applies(stmt, action, resource, ctx, missing):
                hit = Statement(source.policy_id, source.policy_type, effect, stmt.get("Sid"))
                (denies if effect == "Deny" else allows).append(hit)
    if denies:
        return Decision(EXPLICIT_DENY, denies, missing)
    if allows:
        return Decision(ALLOWED, allows, missing)
    return Decision(IMPLICIT_DENY, [], missing)
