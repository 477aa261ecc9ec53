"""Custom Model Import: CreateModelImportJob, GetModelImportJob, ListModelImportJobs, ListImportedModels,
GetImportedModel, DeleteImportedModel (service ``bedrock``, rest-json).

An import job finishes at once: ``Completed`` with a new imported model when the job's S3 bucket exists in the
account (moto's S3), else ``Failed`` with the message AWS gives for unreadable model data. The model's
architecture is guessed from the S3 URI (``llama``, ``mistral``, ``mixtral``, ``qwen``, ``flan``; default
``llama3``), since the sandbox does not read ``config.json``. ``import_model(...)`` inserts a model directly
(for seeds).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from bedrockctl.sandbox.bedrock.control_common import (
    STATE,
    ControlState,
    check_enum,
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
from bedrockctl.sandbox.core import ROUTER, SandboxRequest, SandboxResponse

SERVICE = "bedrock"
_MODEL_NAME = r"([0-9a-zA-Z][_-]?)+"
_JOB_NAME = r"[a-zA-Z0-9](-*[a-zA-Z0-9\+\-\.])*"
_MODEL_IDENTIFIER = (
    r"(arn:aws(-[^:]+)?:bedrock:[a-z0-9-]{1,20}:[0-9]{12}:imported-model/[a-z0-9]{12})|(([0-9a-zA-Z][_-]?)+)"
)
_JOB_IDENTIFIER = (
    r"(arn:aws(-[^:]+)?:bedrock:[a-z0-9-]{1,20}:[0-9]{12}:model-import-job/[a-z0-9]{12})"
    r"|([a-zA-Z0-9](-*[a-zA-Z0-9\+\-\.])*)"
)
_ARCHITECTURES = (("mixtral", "mixtral"), ("mistral", "mistral"), ("qwen", "qwen2"), ("flan", "flan-t5"))
_JOB_STATUSES = ("InProgress", "Completed", "Failed")
_SUMMARY_KEYS = ("modelArn", "modelName", "creationTime", "instructSupported", "modelArchitecture")
_JOB_SUMMARY_KEYS = (
    "jobArn",
    "jobName",
    "status",
    "lastModifiedTime",
    "creationTime",
    "endTime",
    "importedModelArn",
    "importedModelName",
)


def _architecture(s3_uri: str) -> str:
    lowered = s3_uri.lower()
    for needle, arch in _ARCHITECTURES:
        if needle in lowered:
            return arch
    return "llama3"


def _bucket_exists(account_id: str, s3_uri: str) -> bool:
    from moto.s3.models import s3_backends

    bucket = s3_uri.removeprefix("s3://").split("/", 1)[0]
    return bucket in s3_backends[account_id]["aws"].buckets


def _name(body: dict[str, Any], member: str, pattern: str, max_len: int) -> str:
    value = body.get(member)
    if not isinstance(value, str) or not 1 <= len(value) <= max_len:
        raise constraint_error(value, member, f"Member must have length between 1 and {max_len}")
    check_pattern(value, member, pattern)
    return value


def import_model(
    state: ControlState,
    name: str,
    s3_uri: str,
    *,
    job: dict[str, Any] | None = None,
    tags: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Insert a Completed imported model into ``state`` (caller holds no lock) and return its record."""
    model_id = new_id()
    arn = f"arn:{partition_of(state.region)}:bedrock:{state.region}:{state.account_id}:imported-model/{model_id}"
    rec: dict[str, Any] = {
        "modelArn": arn,
        "modelName": name,
        "modelDataSource": {"s3DataSource": {"s3Uri": s3_uri}},
        "creationTime": iso(now()),
        "modelArchitecture": _architecture(s3_uri),
        "instructSupported": True,
        "customModelUnits": {"customModelUnitsPerModelCopy": 1, "customModelUnitsVersion": "v1.0"},
    }
    if job is not None:
        rec["jobName"], rec["jobArn"] = job["jobName"], job["jobArn"]
    with state.lock:
        if any(m["modelName"] == name for m in state.imported_models.values()):
            raise conflict(f"An imported model with the name {name} already exists.")
        state.imported_models[model_id] = rec
        if tags:
            state.tags[arn] = dict(tags)
    return rec


@ROUTER.route(SERVICE, "POST", r"/model-import-jobs/?")
def create_model_import_job(req: SandboxRequest) -> SandboxResponse:
    body = req.json()
    job_name = _name(body, "jobName", _JOB_NAME, 63)
    model_name = _name(body, "importedModelName", _MODEL_NAME, 63)
    role = body.get("roleArn")
    if not isinstance(role, str) or ":iam::" not in role:
        raise constraint_error(role, "roleArn", "Member must satisfy regular expression pattern: arn:aws...")
    s3_uri = ((body.get("modelDataSource") or {}).get("s3DataSource") or {}).get("s3Uri")
    if not isinstance(s3_uri, str) or not s3_uri.startswith("s3://"):
        raise validation(
            "1 validation error detected: Value at 'modelDataSource.s3DataSource.s3Uri' failed to "
            "satisfy constraint: Member must satisfy regular expression pattern: s3://..."
        )
    state = state_for(req)
    token = body.get("clientRequestToken")
    with state.lock:
        if token and token in state.client_tokens:
            return SandboxResponse.json({"jobArn": state.client_tokens[token]}, 201)
        if any(j["jobName"] == job_name for j in state.import_jobs.values()):
            raise conflict(f"A model import job with the name {job_name} already exists.")
        if any(m["modelName"] == model_name for m in state.imported_models.values()):
            raise conflict(f"An imported model with the name {model_name} already exists.")
    job_id = new_id()
    ts = iso(now())
    job: dict[str, Any] = {
        "jobArn": f"arn:{partition_of(req.region)}:bedrock:{req.region}:{req.account_id}:model-import-job/{job_id}",
        "jobName": job_name,
        "importedModelName": model_name,
        "roleArn": role,
        "modelDataSource": {"s3DataSource": {"s3Uri": s3_uri}},
        "creationTime": ts,
        "lastModifiedTime": ts,
        "endTime": ts,
    }
    if _bucket_exists(req.account_id, s3_uri):
        model = import_model(state, model_name, s3_uri, job=job, tags=tags_from_list(body.get("importedModelTags")))
        job.update(status="Completed", importedModelArn=model["modelArn"])
    else:
        job.update(status="Failed", failureMessage=f"Unable to access the model data at {s3_uri}.")
    with state.lock:
        state.import_jobs[job_id] = job
        if body.get("jobTags"):
            state.tags[job["jobArn"]] = tags_from_list(body.get("jobTags"))
        if token:
            state.client_tokens[token] = job["jobArn"]
    return SandboxResponse.json({"jobArn": job["jobArn"]}, 201)


def _find(records: dict[str, dict[str, Any]], identifier: str, arn_key: str, name_key: str) -> dict[str, Any] | None:
    for rec in records.values():
        if identifier in (rec[arn_key], rec[name_key]):
            return rec
    return None


def _time(req: SandboxRequest, name: str) -> dt.datetime | None:
    raw = req.q(name)
    if not raw:
        return None
    try:
        if raw.replace(".", "", 1).isdigit():
            return dt.datetime.fromtimestamp(float(raw), dt.UTC)
        return dt.datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError as exc:
        raise validation(f"Invalid timestamp for {name}: {raw}") from exc


def _listing(req: SandboxRequest, records: list[dict[str, Any]], name_key: str, keys: tuple[str, ...]) -> Any:
    check_enum(req.q("sortBy"), "sortBy", ("CreationTime",))
    order = req.q("sortOrder", "Descending")
    check_enum(order, "sortOrder", ("Ascending", "Descending"))
    after, before = _time(req, "creationTimeAfter"), _time(req, "creationTimeBefore")
    contains = req.q("nameContains")
    offset, max_results = page_params(req)
    out = []
    for rec in records:
        created = dt.datetime.fromisoformat(rec["creationTime"].replace("Z", "+00:00"))
        if (
            (contains and contains not in rec[name_key])
            or (after and created <= after)
            or (before and created >= before)
        ):
            continue
        out.append({k: rec[k] for k in keys if rec.get(k) is not None})
    out.sort(key=lambda r: r["creationTime"], reverse=order == "Descending")
    return paginate(out, offset, max_results)


@ROUTER.route(SERVICE, "GET", r"/model-import-jobs/?")
def list_model_import_jobs(req: SandboxRequest) -> SandboxResponse:
    status = req.q("statusEquals")
    check_enum(status, "statusEquals", _JOB_STATUSES)
    state = state_for(req)
    with state.lock:
        records = [j for j in state.import_jobs.values() if not status or j["status"] == status]
    page, token = _listing(req, records, "jobName", _JOB_SUMMARY_KEYS)
    body: dict[str, Any] = {"modelImportJobSummaries": page}
    if token:
        body["nextToken"] = token
    return SandboxResponse.json(body)


@ROUTER.route(SERVICE, "GET", r"/model-import-jobs/(?P<identifier>.+)")
def get_model_import_job(req: SandboxRequest, identifier: str) -> SandboxResponse:
    check_pattern(identifier, "jobIdentifier", _JOB_IDENTIFIER)
    state = state_for(req)
    with state.lock:
        job = _find(state.import_jobs, identifier, "jobArn", "jobName")
        if job is None:
            raise not_found(f"The model import job {identifier} does not exist.")
        return SandboxResponse.json(dict(job))


@ROUTER.route(SERVICE, "GET", r"/imported-models/?")
def list_imported_models(req: SandboxRequest) -> SandboxResponse:
    state = state_for(req)
    with state.lock:
        records = list(state.imported_models.values())
    page, token = _listing(req, records, "modelName", _SUMMARY_KEYS)
    body: dict[str, Any] = {"modelSummaries": page}
    if token:
        body["nextToken"] = token
    return SandboxResponse.json(body)


def _model_id(state: ControlState, identifier: str) -> str:
    check_pattern(identifier, "modelIdentifier", _MODEL_IDENTIFIER)
    for model_id, rec in state.imported_models.items():
        if identifier in (rec["modelArn"], rec["modelName"]):
            return model_id
    raise not_found(f"The model {identifier} does not exist.")


@ROUTER.route(SERVICE, "GET", r"/imported-models/(?P<identifier>.+)")
def get_imported_model(req: SandboxRequest, identifier: str) -> SandboxResponse:
    state = state_for(req)
    with state.lock:
        return SandboxResponse.json(dict(state.imported_models[_model_id(state, identifier)]))


@ROUTER.route(SERVICE, "DELETE", r"/imported-models/(?P<identifier>.+)")
def delete_imported_model(req: SandboxRequest, identifier: str) -> SandboxResponse:
    state = state_for(req)
    with state.lock:
        rec = state.imported_models.pop(_model_id(state, identifier))
        state.tags.pop(rec["modelArn"], None)
    return SandboxResponse.json({})


def imported_models(account_id: str, region: str) -> list[dict[str, Any]]:
    """The GetImportedModel records of an account in a Region (for other handlers and tests)."""
    state = STATE.get(account_id, region)
    with state.lock:
        return [dict(r) for r in state.imported_models.values()]
