"""Guardrails: Create / Get / List / Update / Delete Guardrail and CreateGuardrailVersion.

The request's ``*Config`` members are stored in their GetGuardrail form (``topicPolicyConfig.topicsConfig`` ->
``topicPolicy.topics`` ...), with the defaults AWS fills in (actions BLOCK, enabled true, TEXT modality). A new
guardrail is READY at once. ``get_guardrail(account, region, identifier, version)`` returns that GetGuardrail
document for the runtime handlers (ApplyGuardrail, guardrailConfig on Converse/InvokeModel).
"""

from __future__ import annotations

import copy
from typing import Any

from bedrockctl.sandbox.bedrock.control_common import (
    STATE,
    ControlState,
    check_pattern,
    conflict,
    constraint_error,
    iso,
    new_id,
    not_found,
    now,
    page_params,
    paginate,
    partition_of,
    state_for,
    tags_from_list,
    validation,
)
from bedrockctl.sandbox.core import ROUTER, AwsError, SandboxRequest, SandboxResponse

SERVICE = "bedrock"
_NAME_PATTERN = r"[0-9a-zA-Z-_]+"
_VERSION_PATTERN = r"(([1-9][0-9]{0,7})|(DRAFT))"
_POLICIES = (
    "topicPolicy",
    "contentPolicy",
    "wordPolicy",
    "sensitiveInformationPolicy",
    "contextualGroundingPolicy",
    "automatedReasoningPolicy",
)
_ACTION_LISTS = ("topics", "filters", "words", "managedWordLists", "piiEntities", "regexes")


def _strip_config(value: Any) -> Any:
    """``{"topicsConfig": [...], "tierConfig": {...}}`` -> ``{"topics": [...], "tier": {...}}`` (recursive)."""
    if isinstance(value, dict):
        return {(k[:-6] if k.endswith("Config") else k): _strip_config(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_strip_config(v) for v in value]
    return value


def _with_defaults(policy_name: str, policy: dict[str, Any]) -> dict[str, Any]:
    for list_name in _ACTION_LISTS:
        for item in policy.get(list_name) or []:
            if policy_name == "contextualGroundingPolicy":
                continue
            default = item.get("action", "BLOCK") if list_name in ("piiEntities", "regexes") else "BLOCK"
            item.setdefault("inputAction", default)
            item.setdefault("outputAction", default)
            item.setdefault("inputEnabled", True)
            item.setdefault("outputEnabled", True)
            if policy_name == "topicPolicy":
                item.setdefault("type", "DENY")
            if policy_name == "contentPolicy":
                item.setdefault("inputModalities", ["TEXT"])
                item.setdefault("outputModalities", ["TEXT"])
    return policy


def _config_from_request(req: SandboxRequest, body: dict[str, Any]) -> dict[str, Any]:
    name = body.get("name")
    if not isinstance(name, str) or not 1 <= len(name) <= 50:
        raise constraint_error(name, "name", "Member must have length between 1 and 50")
    check_pattern(name, "name", _NAME_PATTERN)
    config: dict[str, Any] = {"name": name}
    for member in ("blockedInputMessaging", "blockedOutputsMessaging"):
        text = body.get(member)
        if not isinstance(text, str) or not 1 <= len(text) <= 500:
            raise constraint_error(text, member, "Member must have length between 1 and 500")
        config[member] = text
    if body.get("description") is not None:
        config["description"] = body["description"]
    for policy in _POLICIES:
        raw = body.get(f"{policy}Config")
        if raw is not None:
            config[policy] = _with_defaults(policy, _strip_config(copy.deepcopy(raw)))
    cross = body.get("crossRegionConfig")
    if cross:
        ident = str(cross.get("guardrailProfileIdentifier", ""))
        pid = ident.rsplit("/", 1)[-1]
        config["crossRegionDetails"] = {
            "guardrailProfileId": pid,
            "guardrailProfileArn": (
                ident
                if ident.startswith("arn:")
                else f"arn:{partition_of(req.region)}:bedrock:{req.region}:{req.account_id}:guardrail-profile/{pid}"
            ),
        }
    kms = body.get("kmsKeyId")
    if isinstance(kms, str) and kms.startswith("arn:") and ":key/" in kms:
        config["kmsKeyArn"] = kms
    return config


def _find(state: ControlState, identifier: str) -> dict[str, Any] | None:
    gid = identifier.rsplit("/", 1)[-1] if identifier.startswith("arn:") else identifier
    rec = state.guardrails.get(gid)
    if rec is not None and identifier.startswith("arn:") and rec["arn"] != identifier:
        return None
    return rec


def _document(rec: dict[str, Any], version: str) -> dict[str, Any]:
    snap = rec["draft"] if version == "DRAFT" else rec["versions"].get(version)
    if snap is None:
        raise not_found(f"Guardrail {rec['id']} version {version} couldn't be found.")
    doc = {
        **copy.deepcopy(snap["config"]),
        "guardrailId": rec["id"],
        "guardrailArn": rec["arn"],
        "version": version,
        "status": "READY",
        "createdAt": snap["createdAt"],
        "updatedAt": snap["updatedAt"],
    }
    return doc


def get_guardrail(account_id: str, region: str, identifier: str, version: str = "DRAFT") -> dict[str, Any] | None:
    """The GetGuardrail document of ``identifier`` (id or ARN) at ``version``; None when unknown."""
    state = STATE.get(account_id, region)
    with state.lock:
        rec = _find(state, identifier)
        if rec is None:
            return None
        try:
            return _document(rec, version)
        except AwsError:  # unknown version
            return None


def _must_find(req: SandboxRequest, identifier: str) -> tuple[ControlState, dict[str, Any]]:
    state = state_for(req)
    rec = _find(state, identifier)
    if rec is None:
        raise not_found(f"Guardrail {identifier} couldn't be found.")
    return state, rec


@ROUTER.route(SERVICE, "POST", r"/guardrails/?")
def create_guardrail(req: SandboxRequest) -> SandboxResponse:
    body = req.json()
    config = _config_from_request(req, body)
    tags = tags_from_list(body.get("tags"))
    state = state_for(req)
    token = body.get("clientRequestToken")
    with state.lock:
        if token and token in state.client_tokens:
            rec = state.guardrails[state.client_tokens[token].rsplit("/", 1)[-1]]
        else:
            if any(g["draft"]["config"]["name"] == config["name"] for g in state.guardrails.values()):
                raise conflict(f"A guardrail with the name {config['name']} already exists.")
            gid = new_id()
            arn = f"arn:{partition_of(req.region)}:bedrock:{req.region}:{req.account_id}:guardrail/{gid}"
            ts = iso(now())
            rec = {
                "id": gid,
                "arn": arn,
                "draft": {"config": config, "createdAt": ts, "updatedAt": ts},
                "versions": {},
            }
            state.guardrails[gid] = rec
            if tags:
                state.tags[arn] = tags
            if token:
                state.client_tokens[token] = arn
        out = {
            "guardrailId": rec["id"],
            "guardrailArn": rec["arn"],
            "version": "DRAFT",
            "createdAt": rec["draft"]["createdAt"],
        }
    return SandboxResponse.json(out, 202)


@ROUTER.route(SERVICE, "GET", r"/guardrails/(?P<identifier>.+)")
def get_guardrail_handler(req: SandboxRequest, identifier: str) -> SandboxResponse:
    version = req.q("guardrailVersion") or "DRAFT"
    check_pattern(version, "guardrailVersion", _VERSION_PATTERN)
    state, rec = _must_find(req, identifier)
    with state.lock:
        return SandboxResponse.json(_document(rec, version))


def _summary(rec: dict[str, Any], version: str) -> dict[str, Any]:
    doc = _document(rec, version)
    keys = ("name", "description", "status", "version", "createdAt", "updatedAt", "crossRegionDetails")
    out = {k: doc[k] for k in keys if k in doc}
    out.update({"id": rec["id"], "arn": rec["arn"]})
    return out


@ROUTER.route(SERVICE, "GET", r"/guardrails/?")
def list_guardrails(req: SandboxRequest) -> SandboxResponse:
    identifier = req.q("guardrailIdentifier")
    offset, max_results = page_params(req)
    state = state_for(req)
    with state.lock:
        if identifier:
            rec = _find(state, identifier)
            if rec is None:
                raise not_found(f"Guardrail {identifier} couldn't be found.")
            versions = ["DRAFT", *sorted(rec["versions"], key=int)]
            items = [_summary(rec, v) for v in versions]
        else:
            items = [_summary(rec, "DRAFT") for rec in state.guardrails.values()]
    page, token = paginate(items, offset, max_results)
    body: dict[str, Any] = {"guardrails": page}
    if token:
        body["nextToken"] = token
    return SandboxResponse.json(body)


@ROUTER.route(SERVICE, "POST", r"/guardrails/(?P<identifier>.+)")
def create_guardrail_version(req: SandboxRequest, identifier: str) -> SandboxResponse:
    body = req.json()
    state, rec = _must_find(req, identifier)
    with state.lock:
        token = body.get("clientRequestToken")
        token_key = f"{rec['id']}:version:{token}" if token else None
        if token_key and token_key in state.client_tokens:
            return SandboxResponse.json({"guardrailId": rec["id"], "version": state.client_tokens[token_key]}, 202)
        version = str(max((int(v) for v in rec["versions"]), default=0) + 1)
        ts = iso(now())
        config = copy.deepcopy(rec["draft"]["config"])
        if body.get("description"):
            config["description"] = body["description"]
        rec["versions"][version] = {"config": config, "createdAt": ts, "updatedAt": ts}
        if token_key:
            state.client_tokens[token_key] = version
    return SandboxResponse.json({"guardrailId": rec["id"], "version": version}, 202)


@ROUTER.route(SERVICE, "PUT", r"/guardrails/(?P<identifier>.+)")
def update_guardrail(req: SandboxRequest, identifier: str) -> SandboxResponse:
    body = req.json()
    config = _config_from_request(req, body)
    state, rec = _must_find(req, identifier)
    with state.lock:
        for other in state.guardrails.values():
            if other is not rec and other["draft"]["config"]["name"] == config["name"]:
                raise conflict(f"A guardrail with the name {config['name']} already exists.")
        ts = iso(now())
        rec["draft"] = {"config": config, "createdAt": rec["draft"]["createdAt"], "updatedAt": ts}
    return SandboxResponse.json(
        {"guardrailId": rec["id"], "guardrailArn": rec["arn"], "version": "DRAFT", "updatedAt": ts}, 202
    )


@ROUTER.route(SERVICE, "DELETE", r"/guardrails/(?P<identifier>.+)")
def delete_guardrail(req: SandboxRequest, identifier: str) -> SandboxResponse:
    version = req.q("guardrailVersion")
    state, rec = _must_find(req, identifier)
    with state.lock:
        if version and version != "DRAFT":
            check_pattern(version, "guardrailVersion", r"[1-9][0-9]{0,7}")
            if rec["versions"].pop(version, None) is None:
                raise not_found(f"Guardrail {rec['id']} version {version} couldn't be found.")
        else:
            if version == "DRAFT":
                raise validation("The DRAFT version can't be deleted on its own; delete the guardrail instead.")
            del state.guardrails[rec["id"]]
            state.tags.pop(rec["arn"], None)
    return SandboxResponse.json({}, 202)
