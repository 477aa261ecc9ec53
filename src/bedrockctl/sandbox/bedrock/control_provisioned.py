"""Provisioned Throughput: Create / Get / List / Update / Delete ProvisionedModelThroughput.

A new provisioned model is ``InService`` at once (AWS takes minutes; tests should not wait). Base models must
support PROVISIONED in the region and must not be LEGACY; custom models are looked up in moto's bedrock backend
(name or ARN). A Provisioned Throughput with a commitment can't be deleted before the commitment expires.
``get_provisioned_model(account, region, identifier)`` is what the runtime handlers use to resolve an ARN.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from bedrockctl.sandbox.bedrock.control_common import (
    STATE,
    ControlState,
    check_enum,
    check_pattern,
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
from bedrockctl.sandbox.bedrock.models_data import MODEL_ID_RE, is_profile_id, parse_arn, sandbox_models
from bedrockctl.sandbox.core import ROUTER, AwsError, SandboxRequest, SandboxResponse

SERVICE = "bedrock"
_NAME_PATTERN = r"([0-9a-zA-Z][_-]?)+"
_STATUSES = ("Creating", "InService", "Updating", "Failed")
_COMMITMENTS = {"OneMonth": dt.timedelta(days=30), "SixMonths": dt.timedelta(days=182)}
_SUMMARY_KEYS = (
    "provisionedModelName",
    "provisionedModelArn",
    "modelArn",
    "desiredModelArn",
    "foundationModelArn",
    "modelUnits",
    "desiredModelUnits",
    "status",
    "commitmentDuration",
    "commitmentExpirationTime",
    "creationTime",
    "lastModifiedTime",
)


def _resolve_model(req: SandboxRequest, identifier: str) -> tuple[str, str]:
    """modelId of a create/update request -> (model ARN, foundation model ARN)."""
    if ":custom-model/" in identifier or not ("." in identifier or identifier.startswith("arn:")):
        from moto.bedrock.models import bedrock_backends
        from moto.core.exceptions import JsonRESTError

        try:
            custom = bedrock_backends[req.account_id][req.region].get_custom_model(identifier)
        except JsonRESTError as exc:
            raise not_found(f"The specified model {identifier} couldn't be found.") from exc
        return str(custom.model_arn), str(custom.base_model_arn)
    arn = parse_arn(identifier) if identifier.startswith("arn:") else None
    if identifier.startswith("arn:") and arn is None:
        raise validation(f"The provided model identifier is invalid: {identifier}")
    if (arn is not None and (arn.kind != "foundation-model" or arn.account)) or is_profile_id(identifier):
        raise validation("Provisioned Throughput needs a foundation model or a custom model.")
    model_id = arn.rest if arn is not None else identifier
    if not MODEL_ID_RE.match(model_id):
        raise validation(f"The provided model identifier is invalid: {identifier}")
    model = sandbox_models().get_model(model_id)
    if model is None or not model.listed_in(req.region, now()):
        raise not_found(f"The specified model {model_id} couldn't be found.")
    if "PROVISIONED" not in model.inference_types_in(req.region):
        raise validation(f"The model {model.model_id} doesn't support Provisioned Throughput in {req.region}.")
    if model.status(now()) == "LEGACY":
        raise validation(f"You can't create Provisioned Throughput for the Legacy model {model.model_id}.")
    fm_arn = model.arn(req.region, partition_of(req.region))
    return fm_arn, fm_arn


def _find(state: ControlState, identifier: str) -> dict[str, Any] | None:
    for rec in state.provisioned.values():
        if identifier in (rec["provisionedModelArn"], rec["provisionedModelName"], rec["id"]):
            return rec
    return None


def get_provisioned_model(account_id: str, region: str, identifier: str) -> dict[str, Any] | None:
    """The provisioned model record (AWS field names, plus ``id``), by ARN or name; None when unknown."""
    state = STATE.get(account_id, region)
    with state.lock:
        rec = _find(state, identifier)
        return dict(rec) if rec else None


def _public(rec: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in rec.items() if k != "id" and v is not None}


@ROUTER.route(SERVICE, "POST", r"/provisioned-model-throughput/?")
def create_provisioned_model_throughput(req: SandboxRequest) -> SandboxResponse:
    body = req.json()
    name = body.get("provisionedModelName")
    if not isinstance(name, str) or not 1 <= len(name) <= 63:
        raise constraint_error(name, "provisionedModelName", "Member must have length between 1 and 63")
    check_pattern(name, "provisionedModelName", _NAME_PATTERN)
    units = body.get("modelUnits")
    if not isinstance(units, int) or units < 1:
        raise constraint_error(units, "modelUnits", "Member must have value greater than or equal to 1")
    commitment = body.get("commitmentDuration")
    check_enum(commitment, "commitmentDuration", tuple(_COMMITMENTS))
    model_id = body.get("modelId")
    if not isinstance(model_id, str) or not model_id:
        raise constraint_error(model_id, "modelId", "Member must not be null")
    model_arn, fm_arn = _resolve_model(req, model_id)
    tags = tags_from_list(body.get("tags"))
    state = state_for(req)
    token = body.get("clientRequestToken")
    with state.lock:
        if token and token in state.client_tokens:
            return SandboxResponse.json({"provisionedModelArn": state.client_tokens[token]}, 201)
        if _find(state, name) is not None:
            raise validation(f"A Provisioned Throughput with the name {name} already exists.")
        pid = new_id()
        arn = f"arn:{partition_of(req.region)}:bedrock:{req.region}:{req.account_id}:provisioned-model/{pid}"
        created = now()
        state.provisioned[pid] = {
            "id": pid,
            "provisionedModelName": name,
            "provisionedModelArn": arn,
            "modelArn": model_arn,
            "desiredModelArn": model_arn,
            "foundationModelArn": fm_arn,
            "modelUnits": units,
            "desiredModelUnits": units,
            "status": "InService",
            "commitmentDuration": commitment,
            "commitmentExpirationTime": iso(created + _COMMITMENTS[commitment]) if commitment else None,
            "creationTime": iso(created),
            "lastModifiedTime": iso(created),
            "arn": arn,  # for tag ownership checks
        }
        if tags:
            state.tags[arn] = tags
        if token:
            state.client_tokens[token] = arn
    return SandboxResponse.json({"provisionedModelArn": arn}, 201)


@ROUTER.route(SERVICE, "GET", r"/provisioned-model-throughput/(?P<identifier>.+)")
def get_provisioned_model_throughput(req: SandboxRequest, identifier: str) -> SandboxResponse:
    state = state_for(req)
    with state.lock:
        rec = _find(state, identifier)
        if rec is None:
            raise not_found(f"Provisioned Throughput {identifier} couldn't be found.")
        out = _public(rec)
    out.pop("arn", None)
    return SandboxResponse.json(out)


def _time_filter(req: SandboxRequest, name: str) -> dt.datetime | None:
    raw = req.q(name)
    if not raw:
        return None
    try:
        if raw.replace(".", "", 1).isdigit():
            return dt.datetime.fromtimestamp(float(raw), dt.UTC)
        return dt.datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError as exc:
        raise validation(f"Invalid timestamp for {name}: {raw}") from exc


@ROUTER.route(SERVICE, "GET", r"/provisioned-model-throughputs/?")
def list_provisioned_model_throughputs(req: SandboxRequest) -> SandboxResponse:
    status = req.q("statusEquals")
    check_enum(status, "statusEquals", _STATUSES)
    check_enum(req.q("sortBy"), "sortBy", ("CreationTime",))
    order = req.q("sortOrder", "Descending")
    check_enum(order, "sortOrder", ("Ascending", "Descending"))
    after, before = _time_filter(req, "creationTimeAfter"), _time_filter(req, "creationTimeBefore")
    model_arn, name_contains = req.q("modelArnEquals"), req.q("nameContains")
    offset, max_results = page_params(req)
    state = state_for(req)
    with state.lock:
        records = list(state.provisioned.values())
    out = []
    for rec in records:
        created = dt.datetime.fromisoformat(rec["creationTime"].replace("Z", "+00:00"))
        if (status and rec["status"] != status) or (model_arn and rec["modelArn"] != model_arn):
            continue
        if name_contains and name_contains not in rec["provisionedModelName"]:
            continue
        if (after and created <= after) or (before and created >= before):
            continue
        out.append({k: rec[k] for k in _SUMMARY_KEYS if rec.get(k) is not None})
    out.sort(key=lambda r: r["creationTime"], reverse=order == "Descending")
    page, token = paginate(out, offset, max_results)
    body: dict[str, Any] = {"provisionedModelSummaries": page}
    if token:
        body["nextToken"] = token
    return SandboxResponse.json(body)


@ROUTER.route(SERVICE, "PATCH", r"/provisioned-model-throughput/(?P<identifier>.+)")
def update_provisioned_model_throughput(req: SandboxRequest, identifier: str) -> SandboxResponse:
    body = req.json()
    new_name = body.get("desiredProvisionedModelName")
    if new_name is not None:
        check_pattern(new_name, "desiredProvisionedModelName", _NAME_PATTERN)
    desired = body.get("desiredModelId")
    state = state_for(req)
    with state.lock:
        rec = _find(state, identifier)
        if rec is None:
            raise not_found(f"Provisioned Throughput {identifier} couldn't be found.")
        if desired is not None:
            model_arn, fm_arn = _resolve_model(req, desired)
            if fm_arn != rec["foundationModelArn"]:
                raise validation("The desired model must be customized from the same base model.")
            rec["modelArn"] = rec["desiredModelArn"] = model_arn
        if new_name is not None and new_name != rec["provisionedModelName"]:
            if _find(state, new_name) is not None:
                raise validation(f"A Provisioned Throughput with the name {new_name} already exists.")
            rec["provisionedModelName"] = new_name
        rec["lastModifiedTime"] = iso(now())
    return SandboxResponse.json({})


@ROUTER.route(SERVICE, "DELETE", r"/provisioned-model-throughput/(?P<identifier>.+)")
def delete_provisioned_model_throughput(req: SandboxRequest, identifier: str) -> SandboxResponse:
    state = state_for(req)
    with state.lock:
        rec = _find(state, identifier)
        if rec is None:
            raise not_found(f"Provisioned Throughput {identifier} couldn't be found.")
        expires = rec.get("commitmentExpirationTime")
        if expires and dt.datetime.fromisoformat(expires.replace("Z", "+00:00")) > now():
            raise AwsError(
                "ValidationException",
                "You can't delete a Provisioned Throughput with a commitment before the commitment term ends.",
            )
        del state.provisioned[rec["id"]]
        state.tags.pop(rec["arn"], None)
    return SandboxResponse.json({})
