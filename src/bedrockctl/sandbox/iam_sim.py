"""IAM in the sandbox: ``iam:SimulatePrincipalPolicy`` / ``iam:SimulateCustomPolicy``, and IAM enforcement.

- ``SimulatePrincipalPolicy`` and ``SimulateCustomPolicy`` (query protocol, matched on ``Action`` by the
  dispatcher's ``ACTIONS`` router) are answered with the evaluator of ``iam_eval`` over the principal's policies
  in moto's IAM backend (user inline + attached + its groups'; role inline + attached). Every other IAM action
  never reaches this module: the dispatcher hands it to moto.
- ``enforce_iam(req, action, resource_arn)`` raises AWS's AccessDeniedException when the fault knob
  ``iam_enforcement`` is true and the caller's identity policies do not allow ``action`` on ``resource_arn``.
  Callers that are not IAM principals known to moto (the default ``moto`` user of unknown access keys) are not
  enforced: they stand for the account's administrator. ``enforce_invoke(req, requested, model_id,
  inference_region)`` checks what Bedrock checks for a model invocation: the inference profile ARN (when one is
  used) and the foundation model ARN in the Region the request runs in.

Request context given to conditions: ``aws:SourceIp``, ``aws:RequestedRegion``, ``aws:PrincipalArn``,
``aws:PrincipalAccount``, ``aws:PrincipalType``, ``aws:username``, ``aws:userid``, ``aws:PrincipalTag/<k>``,
``aws:SecureTransport`` (false: the sandbox speaks http) and ``aws:CurrentTime``; for a role session ``aws:userid``
is ``<role id>:<session name>`` (so a policy can single out one session); for model calls also
``bedrock:GuardrailIdentifier``, ``bedrock:InferenceProfileArn`` (on the foundation-model check of a call made
through a profile) and ``bedrock:bearerTokenType`` (with a ``bedrock:CallWithBearerToken`` check on ``*`` first
when an API key authenticates the call).
"""

from __future__ import annotations

import json
import re
import urllib.parse
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from xml.sax.saxutils import escape

from bedrockctl.sandbox.core import AwsError, Caller, SandboxRequest, SandboxResponse
from bedrockctl.sandbox.dispatch import ACTIONS
from bedrockctl.sandbox.iam_eval import Decision, PolicySource, evaluate, parse_document

ENFORCEMENT_KEY = "iam_enforcement"  # a fault knob (faults.KNOWN_KEYS)

NS = "https://iam.amazonaws.com/doc/2010-05-08/"
_ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::(?P<account>\d{12}):role/(?:.*/)?(?P<name>[^/]+)$")
_USER_ARN = re.compile(r"^arn:aws[a-z-]*:iam::(?P<account>\d{12}):user/(?:.*/)?(?P<name>[^/]+)$")
_GROUP_ARN = re.compile(r"^arn:aws[a-z-]*:iam::(?P<account>\d{12}):group/(?:.*/)?(?P<name>[^/]+)$")
_ASSUMED = re.compile(r"^arn:aws[a-z-]*:sts::(?P<account>\d{12}):assumed-role/(?P<name>[^/]+)/")


class _NoSuchEntity(Exception):
    pass


# -- principals in moto's IAM ----------------------------------------------------------------------------------
def _iam_backend(account_id: str) -> Any:
    from moto.iam.models import iam_backends

    return iam_backends[account_id]["aws"]


def _managed(policy: Any) -> PolicySource:
    doc: Any = {}
    for version in getattr(policy, "versions", []):
        if getattr(version, "is_default", False):
            doc = version.document
    kind = "aws-managed" if ":iam::aws:policy/" in policy.arn else "user-managed"
    return PolicySource(policy.arn, kind, parse_document(doc))


def _inline(owner: Any, kind: str) -> list[PolicySource]:
    return [PolicySource(name, kind, parse_document(doc)) for name, doc in owner.policies.items()]


def _tags(raw: Any) -> dict[str, str]:
    if isinstance(raw, dict):
        return {
            str(v.get("Key", k)) if isinstance(v, dict) else str(k): str(
                v.get("Value", "") if isinstance(v, dict) else v
            )
            for k, v in raw.items()
        }
    return {str(t.get("Key")): str(t.get("Value", "")) for t in raw or [] if isinstance(t, dict)}


def principal_policies(principal_arn: str) -> tuple[list[PolicySource], dict[str, Any]]:
    """The identity policies of ``principal_arn`` (user, role or assumed role) and its context keys."""
    m = _USER_ARN.match(principal_arn)
    if m:
        iam = _iam_backend(m.group("account"))
        try:
            user = iam.get_user(m.group("name"))
        except Exception as exc:
            raise _NoSuchEntity(f"The user with name {m.group('name')} cannot be found.") from exc
        sources = _inline(user, "user") + [_managed(p) for p in user.managed_policies.values()]
        for group in iam.get_groups_for_user(user.name):
            sources += _inline(group, "group") + [_managed(p) for p in group.managed_policies.values()]
        try:
            tags = _tags(iam.list_user_tags(user.name))
        except Exception:
            tags = {}
        ctx = {"aws:username": user.name, "aws:userid": user.id, "aws:PrincipalType": "User"}
        return sources, {**ctx, **{f"aws:PrincipalTag/{k}": v for k, v in tags.items()}}
    m = _ROLE_ARN.match(principal_arn) or _ASSUMED.match(principal_arn)
    if m:
        iam = _iam_backend(m.group("account"))
        try:
            role = iam.get_role(m.group("name"))
        except Exception as exc:
            raise _NoSuchEntity(f"The role with name {m.group('name')} cannot be found.") from exc
        sources = _inline(role, "role") + [_managed(p) for p in role.managed_policies.values()]
        tags = _tags(role.tags)
        ctx = {"aws:PrincipalType": "AssumedRole", "aws:userid": role.id}
        return sources, {**ctx, **{f"aws:PrincipalTag/{k}": v for k, v in tags.items()}}
    m = _GROUP_ARN.match(principal_arn)
    if m:
        iam = _iam_backend(m.group("account"))
        try:
            group = iam.get_group(m.group("name"))
        except Exception as exc:
            raise _NoSuchEntity(f"The group with name {m.group('name')} cannot be found.") from exc
        return _inline(group, "group") + [_managed(p) for p in group.managed_policies.values()], {}
    raise _NoSuchEntity(f"Unknown principal {principal_arn}")


# -- enforcement -----------------------------------------------------------------------------------------------
def enforcement_on(req: SandboxRequest) -> bool:
    sandbox = req.sandbox
    cfg = getattr(getattr(sandbox, "faults", None), "config", None) or {}
    return bool(cfg.get(ENFORCEMENT_KEY))


def _request_context(req: SandboxRequest, caller: Caller) -> dict[str, Any]:
    return {
        "aws:SourceIp": req.source_ip,
        "aws:RequestedRegion": req.region,
        "aws:PrincipalArn": caller.session_issuer_arn or caller.arn,
        "aws:PrincipalAccount": caller.account_id,
        "aws:SecureTransport": "false",
        "aws:CurrentTime": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


def denied_message(caller_arn: str, action: str, resource: str, decision: Decision) -> str:
    why = (
        "with an explicit deny in an identity-based policy"
        if decision.decision == "explicitDeny"
        else f"because no identity-based policy allows the {action} action"
    )
    return f"User: {caller_arn} is not authorized to perform: {action} on resource: {resource} {why}"


def enforce_iam(req: SandboxRequest, action: str, resource_arn: str, extra: Mapping[str, Any] | None = None) -> None:
    """Raise AccessDeniedException (403) when enforcement is on and the caller may not ``action`` the resource
    (``extra``: the request's service-specific condition keys)."""
    if not enforcement_on(req):
        return
    caller = req.caller
    principal = caller.session_issuer_arn or caller.arn
    try:
        policies, principal_ctx = principal_policies(principal)
    except _NoSuchEntity:
        return  # not an IAM principal moto knows: the account's administrator (see module docstring)
    context = {**_request_context(req, caller), **principal_ctx, **(extra or {})}
    if caller.principal_type == "AssumedRole":
        context["aws:userid"] = caller.principal_id  # <role id>:<session name>, as IAM sees a role session
    decision = evaluate(policies, action, resource_arn, context)
    if not decision.allowed:
        raise AwsError("AccessDeniedException", denied_message(caller.arn, action, resource_arn, decision), 403)


def invoke_action(req: SandboxRequest) -> str:
    """The IAM action of a runtime request (Converse is authorised as InvokeModel, streams as ...Stream)."""
    tail = req.path.rstrip("/").rsplit("/", 1)[-1]
    return "bedrock:InvokeModelWithResponseStream" if tail.endswith("-stream") else "bedrock:InvokeModel"


def enforce_invoke(req: SandboxRequest, requested: str, model_id: str, inference_region: str) -> None:
    """What Bedrock authorises for a model call: the profile ARN (if any) and the foundation model ARN."""
    if not enforcement_on(req):
        return
    action = invoke_action(req)
    partition = requested.split(":", 2)[1] if requested.startswith("arn:") else "aws"
    keys = invoke_condition_keys(req, partition)
    token_type = keys.get("bedrock:bearerTokenType")
    if token_type:
        enforce_iam(req, "bedrock:CallWithBearerToken", "*", keys)
    profile_arn = None
    if requested.startswith("arn:"):
        if ":foundation-model/" not in requested:
            profile_arn = requested
    elif requested != model_id:  # a system inference profile id
        profile_arn = f"arn:{partition}:bedrock:{req.region}:{req.account_id}:inference-profile/{requested}"
    if profile_arn is not None:
        enforce_iam(req, action, profile_arn, keys)
        keys = {**keys, "bedrock:InferenceProfileArn": profile_arn}
    enforce_iam(req, action, f"arn:{partition}:bedrock:{inference_region}::foundation-model/{model_id}", keys)


def invoke_condition_keys(req: SandboxRequest, partition: str = "aws") -> dict[str, Any]:
    """Bedrock's condition keys of a model call: ``bedrock:GuardrailIdentifier`` (the guardrail's ARN and
    version, from ``guardrailConfig`` or the InvokeModel guardrail headers) and ``bedrock:bearerTokenType``
    (``SHORT_TERM`` / ``LONG_TERM`` when an API key authenticates the call)."""
    from bedrockctl.sandbox.iam_api_keys import token_type

    keys: dict[str, Any] = {}
    auth = req.headers.get("Authorization", "")
    if auth.lower().startswith("bearer "):
        kind = token_type(auth[7:].strip())
        if kind:
            keys["bedrock:bearerTokenType"] = kind
    guardrail = req.headers.get("X-Amzn-Bedrock-GuardrailIdentifier")
    version = req.headers.get("X-Amzn-Bedrock-GuardrailVersion")
    if guardrail is None and req.body[:1] == b"{":
        try:
            config = json.loads(req.body).get("guardrailConfig")
        except ValueError:
            config = None
        if isinstance(config, dict):
            guardrail, version = config.get("guardrailIdentifier"), config.get("guardrailVersion")
    if isinstance(guardrail, str) and guardrail:
        arn = (
            guardrail
            if guardrail.startswith("arn:")
            else (f"arn:{partition}:bedrock:{req.region}:{req.account_id}:guardrail/{guardrail}")
        )
        keys["bedrock:GuardrailIdentifier"] = f"{arn}:{version}" if version else arn
    return keys


# -- SimulatePrincipalPolicy / SimulateCustomPolicy ------------------------------------------------------------
def _members(form: Mapping[str, list[str]], prefix: str) -> list[str]:
    found: list[tuple[int, str]] = []
    for key, values in form.items():
        m = re.fullmatch(re.escape(prefix) + r"\.member\.(\d+)", key)
        if m and values:
            found.append((int(m.group(1)), values[0]))
    return [v for _, v in sorted(found)]


def _context_entries(form: Mapping[str, list[str]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    indexes = sorted({int(m.group(1)) for k in form if (m := re.match(r"ContextEntries\.member\.(\d+)\.", k))})
    for i in indexes:
        name = (form.get(f"ContextEntries.member.{i}.ContextKeyName") or [""])[0]
        values = _members(form, f"ContextEntries.member.{i}.ContextKeyValues")
        if name:
            out[name] = values
    return out


def _xml_error(code: str, message: str, status: int, request_id: str) -> SandboxResponse:
    body = (
        f'<ErrorResponse xmlns="{NS}"><Error><Type>Sender</Type><Code>{code}</Code>'
        f"<Message>{escape(message)}</Message></Error><RequestId>{request_id}</RequestId></ErrorResponse>"
    )
    return SandboxResponse(status=status, body=body.encode(), headers={"Content-Type": "text/xml"})


def _result_xml(action: str, resource: str, decision: Decision) -> str:
    statements = "".join(
        f"<member><SourcePolicyId>{escape(s.source_policy_id)}</SourcePolicyId>"
        f"<SourcePolicyType>{s.source_policy_type}</SourcePolicyType></member>"
        for s in decision.matched
    )
    missing = "".join(f"<member>{escape(k)}</member>" for k in decision.missing_context_keys)
    return (
        f"<member><EvalActionName>{escape(action)}</EvalActionName>"
        f"<EvalResourceName>{escape(resource)}</EvalResourceName>"
        f"<EvalDecision>{decision.decision}</EvalDecision>"
        f"<MatchedStatements>{statements}</MatchedStatements>"
        f"<MissingContextValues>{missing}</MissingContextValues></member>"
    )


def simulate(req: SandboxRequest, form: Mapping[str, list[str]], operation: str) -> SandboxResponse:
    actions = _members(form, "ActionNames")
    resources = _members(form, "ResourceArns") or ["*"]
    if not actions:
        return _xml_error("InvalidInput", "ActionNames must contain at least one action.", 400, req.request_id)
    context: dict[str, Any] = _context_entries(form)
    extra = [
        PolicySource(f"PolicyInputList.{i + 1}", "none", parse_document(doc))
        for i, doc in enumerate(_members(form, "PolicyInputList"))
    ]
    if operation == "SimulatePrincipalPolicy":
        source_arn = (form.get("PolicySourceArn") or [""])[0]
        if not source_arn:
            return _xml_error("InvalidInput", "PolicySourceArn is required.", 400, req.request_id)
        try:
            enforce_iam(req, "iam:SimulatePrincipalPolicy", source_arn)
        except AwsError as err:
            return _xml_error("AccessDenied", err.message.replace("AccessDeniedException", ""), 403, req.request_id)
        try:
            policies, principal_ctx = principal_policies(source_arn)
        except _NoSuchEntity as exc:
            return _xml_error("NoSuchEntity", str(exc), 404, req.request_id)
        policies += extra
        context = {**principal_ctx, **context}
    else:
        policies = extra
    results = "".join(
        _result_xml(action, resource, evaluate(policies, action, resource, context))
        for action in actions
        for resource in resources
    )
    body = (
        f'<{operation}Response xmlns="{NS}"><{operation}Result><IsTruncated>false</IsTruncated>'
        f"<EvaluationResults>{results}</EvaluationResults></{operation}Result>"
        f"<ResponseMetadata><RequestId>{req.request_id}</RequestId></ResponseMetadata></{operation}Response>"
    )
    return SandboxResponse(status=200, body=body.encode(), headers={"Content-Type": "text/xml"})


def _form(req: SandboxRequest) -> dict[str, list[str]]:
    form = urllib.parse.parse_qs(req.body.decode("utf-8", "replace"), keep_blank_values=True)
    for key, values in req.query.items():
        form.setdefault(key, values)
    return form


@ACTIONS.route("iam", "SimulatePrincipalPolicy")
def simulate_principal_policy(req: SandboxRequest) -> SandboxResponse:
    return simulate(req, _form(req), "SimulatePrincipalPolicy")


@ACTIONS.route("iam", "SimulateCustomPolicy")
def simulate_custom_policy(req: SandboxRequest) -> SandboxResponse:
    return simulate(req, _form(req), "SimulateCustomPolicy")
