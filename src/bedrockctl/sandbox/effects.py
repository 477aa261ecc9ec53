"""Side effects of a Bedrock runtime call, written the way AWS writes them.

For every ``record_invocation`` (see ``core.InvocationRecord``):

- a CloudTrail management event (``eventSource`` ``bedrock.amazonaws.com``), kept per account+region for
  ``LookupEvents`` and delivered synchronously, one gzipped ``{"Records": [...]}`` file per event, to the S3
  bucket of every *logging* trail that covers the region (moto's CloudTrail and S3 backends);
- when the call succeeded and the account's model invocation logging is on (moto's Bedrock backend keeps
  the configuration), a ``ModelInvocationLog`` record to the CloudWatch log group (stream
  ``aws/bedrock/modelinvocations``) and/or the S3 bucket (one gzipped JSON line per object). Besides AWS's
  documented fields it carries what the call was billed by, named as the runtime API names them:
  ``input.cacheDetails`` (cache writes per TTL), ``serviceTier`` and ``guardrailUsage`` (see docs/sandbox.md);
- ``AWS/Bedrock`` CloudWatch metrics with the ``ModelId`` dimension.
"""

from __future__ import annotations

import gzip
import json
import logging
import secrets
import threading
import uuid
from datetime import UTC, datetime
from typing import Any

from bedrockctl.sandbox import identity
from bedrockctl.sandbox.core import Caller, InvocationRecord, SandboxRequest
from bedrockctl.sandbox.retention import Retention

log = logging.getLogger("bedrockctl.sandbox")

EVENT_SOURCE = "bedrock.amazonaws.com"
LOG_STREAM = "aws/bedrock/modelinvocations"
METRIC_NAMESPACE = "AWS/Bedrock"


def _iso(ts: datetime) -> str:
    return ts.strftime("%Y-%m-%dT%H:%M:%SZ")


def user_identity(caller: Caller, when: datetime) -> dict[str, Any]:
    """CloudTrail ``userIdentity`` for ``caller``."""
    ident: dict[str, Any] = {
        "type": caller.principal_type,
        "principalId": caller.principal_id,
        "arn": caller.arn,
        "accountId": caller.account_id,
        "accessKeyId": caller.access_key_id,
    }
    if caller.principal_type == "AssumedRole" and caller.session_issuer_arn:
        created = identity.session_created(caller.access_key_id) if caller.access_key_id else None
        ident["sessionContext"] = {
            "sessionIssuer": {
                "type": "Role",
                "principalId": caller.principal_id.split(":", 1)[0],
                "arn": caller.session_issuer_arn,
                "accountId": caller.account_id,
                "userName": caller.session_issuer_arn.rsplit("/", 1)[-1],
            },
            "attributes": {"creationDate": _iso(created or when), "mfaAuthenticated": "false"},
        }
    elif caller.user_name:
        ident["userName"] = caller.user_name
    return ident


def _request_parameters(req: SandboxRequest, record: InvocationRecord) -> dict[str, Any]:
    if record.operation == "InvokeAgent":
        parts = req.path.strip("/").split("/")
        params = {"agentId": record.model_id}
        if len(parts) >= 6:
            params.update({"agentAliasId": parts[3], "sessionId": parts[5]})
        return params
    return {"modelId": record.model_id}


class Effects:
    """Writers for the invocation log, CloudTrail and CloudWatch; holds the LookupEvents store."""

    def __init__(self, retention: Retention | None = None) -> None:
        self._lock = threading.Lock()
        self._events: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self.retention = retention if retention is not None else Retention()

    def reset(self) -> None:
        with self._lock:
            self._events.clear()
        self.retention.reset()

    def event_count(self) -> int:
        with self._lock:
            return sum(len(v) for v in self._events.values())

    def events(self, account_id: str, region: str) -> list[dict[str, Any]]:
        """CloudTrail events of ``account_id`` in ``region``, newest first."""
        with self._lock:
            return list(reversed(self._events.get((account_id, region), [])))

    # -- entry point ------------------------------------------------------------------------------------------
    def record_invocation(self, req: SandboxRequest, record: InvocationRecord) -> None:
        now = datetime.now(UTC)
        event = self._trail_event(req, record, now)
        with self._lock:
            store = self._events.setdefault((req.account_id, req.region), [])
            store.append(event)
            self.retention.trim_events(store)
        for step in (self._deliver_trails, self._write_invocation_log, self._put_metrics):
            try:
                step(req, record, now, event)
            except Exception:  # a side effect must never break the call that caused it
                log.exception("sandbox side effect %s failed", step.__name__)

    # -- CloudTrail -------------------------------------------------------------------------------------------
    def _trail_event(self, req: SandboxRequest, record: InvocationRecord, now: datetime) -> dict[str, Any]:
        event: dict[str, Any] = {
            "eventVersion": "1.09",
            "userIdentity": user_identity(req.caller, now),
            "eventTime": _iso(now),
            "eventSource": EVENT_SOURCE,
            "eventName": record.operation,
            "awsRegion": req.region,
            "sourceIPAddress": req.source_ip,
            "userAgent": req.user_agent,
        }
        if record.error_code:
            event["errorCode"] = record.error_code
            event["errorMessage"] = record.output_body if isinstance(record.output_body, str) else None
            if event["errorMessage"] is None:
                del event["errorMessage"]
        event.update(
            {
                "requestParameters": _request_parameters(req, record),
                "responseElements": None,
                "requestID": req.request_id,
                "eventID": str(uuid.uuid4()),
                "readOnly": True,
                "eventType": "AwsApiCall",
                "managementEvent": True,
                "recipientAccountId": req.account_id,
                "eventCategory": "Management",
            }
        )
        return event

    def _deliver_trails(
        self, req: SandboxRequest, record: InvocationRecord, now: datetime, event: dict[str, Any]
    ) -> None:
        from moto.cloudtrail.models import cloudtrail_backends

        account = req.account_id
        if account not in cloudtrail_backends:
            return
        seen: set[str] = set()
        for trail_region, backend in list(cloudtrail_backends[account].items()):
            for trail in list(backend.trails.values()):
                if trail.arn in seen or not trail.status.is_logging:
                    continue
                if not (trail.is_multi_region or trail_region == req.region):
                    continue
                seen.add(trail.arn)
                stamp = now.strftime("%Y%m%dT%H%MZ")
                prefix = f"{trail.s3_key_prefix.strip('/')}/" if trail.s3_key_prefix else ""
                key = (
                    f"{prefix}AWSLogs/{account}/CloudTrail/{req.region}/{now:%Y/%m/%d}/"
                    f"{account}_CloudTrail_{req.region}_{stamp}_{secrets.token_hex(8)}.json.gz"
                )
                body = gzip.compress(json.dumps({"Records": [event]}).encode())
                _put_s3(trail.bucket_name, key, body, account, self.retention)

    # -- invocation logs ------------------------------------------------------------------------------------
    def _write_invocation_log(
        self, req: SandboxRequest, record: InvocationRecord, now: datetime, event: dict[str, Any]
    ) -> None:
        if record.error_code:
            return
        config = logging_config(req.account_id, req.region)
        if not config:
            return
        text = bool(config.get("textDataDeliveryEnabled", False))
        line = json.dumps(invocation_log_record(req, record, now, include_bodies=text))
        cw = config.get("cloudWatchConfig") or {}
        if cw.get("logGroupName"):
            _put_log(req.account_id, req.region, cw["logGroupName"], line, now, self.retention)
        s3 = config.get("s3Config") or {}
        if s3.get("bucketName"):
            prefix = f"{s3['keyPrefix'].strip('/')}/" if s3.get("keyPrefix") else ""
            key = (
                f"{prefix}AWSLogs/{req.account_id}/BedrockModelInvocationLogs/{req.region}/"
                f"{now:%Y/%m/%d/%H}/{uuid.uuid4()}.json.gz"
            )
            _put_s3(s3["bucketName"], key, gzip.compress((line + "\n").encode()), req.account_id, self.retention)

    # -- metrics ----------------------------------------------------------------------------------------------
    def _put_metrics(self, req: SandboxRequest, record: InvocationRecord, now: datetime, event: dict[str, Any]) -> None:
        from moto.cloudwatch.models import cloudwatch_backends

        dims = [{"Name": "ModelId", "Value": record.model_id}]
        names: list[tuple[str, float, str]]
        if record.error_code == "ThrottlingException":
            names = [("InvocationThrottles", 1, "Count")]
        elif record.error_code:
            server = record.error_code in {"InternalServerException", "ServiceUnavailableException"}
            names = [("InvocationServerErrors" if server else "InvocationClientErrors", 1, "Count")]
        else:
            names = [
                ("Invocations", 1, "Count"),
                ("InputTokenCount", record.input_tokens, "Count"),
                ("OutputTokenCount", record.output_tokens, "Count"),
                ("InvocationLatency", record.latency_ms, "Milliseconds"),
            ]
            if record.cache_read_tokens:
                names.append(("CacheReadInputTokenCount", record.cache_read_tokens, "Count"))
            if record.cache_write_tokens:
                names.append(("CacheWriteInputTokenCount", record.cache_write_tokens, "Count"))
        data = [
            {"MetricName": n, "Value": v, "Unit": u, "Dimensions": dims, "Timestamp": now.replace(tzinfo=None)}
            for n, v, u in names
        ]
        backend = cloudwatch_backends[req.account_id][req.region]
        with self.retention.lock:
            backend.put_metric_data(METRIC_NAMESPACE, data)
            self.retention.trim_metrics(backend, METRIC_NAMESPACE)


def invocation_log_record(
    req: SandboxRequest, record: InvocationRecord, now: datetime, *, include_bodies: bool
) -> dict[str, Any]:
    inp: dict[str, Any] = {
        "inputContentType": "application/json",
        "inputTokenCount": record.input_tokens,
        "cacheReadInputTokenCount": record.cache_read_tokens,
        "cacheWriteInputTokenCount": record.cache_write_tokens,
    }
    out: dict[str, Any] = {"outputContentType": "application/json", "outputTokenCount": record.output_tokens}
    if record.cache_details:  # the cache writes per TTL, as the runtime's TokenUsage.cacheDetails reports them
        inp["cacheDetails"] = [dict(d) for d in record.cache_details]
    if include_bodies and record.input_body is not None:
        inp["inputBodyJson"] = record.input_body
    if include_bodies and record.output_body is not None:
        out["outputBodyJson"] = record.output_body
    rec: dict[str, Any] = {
        "schemaType": "ModelInvocationLog",
        "schemaVersion": "1.0",
        "timestamp": _iso(now),
        "accountId": req.account_id,
        "identity": {"arn": req.caller.arn},
        "region": req.region,
        "requestId": req.request_id,
        "operation": record.operation,
        "modelId": record.model_id,
        "input": inp,
        "output": out,
    }
    if record.inference_region:
        rec["inferenceRegion"] = record.inference_region
    if record.request_metadata:
        rec["requestMetadata"] = dict(record.request_metadata)
    if record.service_tier:
        rec["serviceTier"] = {"type": record.service_tier}
    if record.guardrail_usage is not None:
        rec["guardrailUsage"] = dict(record.guardrail_usage)
    rec["metrics"] = {"latencyMs": record.latency_ms}
    return rec


def logging_config(account_id: str, region: str) -> dict[str, Any] | None:
    from moto.bedrock.models import bedrock_backends

    if account_id not in bedrock_backends:
        return None
    backend = bedrock_backends[account_id].get(region)
    cfg = getattr(backend, "model_invocation_logging_configuration", None)
    return dict(cfg.logging_config) if cfg is not None else None


def _put_log(account_id: str, region: str, group: str, message: str, now: datetime, retention: Retention) -> None:
    from moto.logs.models import logs_backends

    backend = logs_backends[account_id][region]
    if group not in backend.groups:
        log.info("invocation log group %s does not exist; record dropped as AWS would", group)
        return
    with retention.lock:
        if LOG_STREAM not in backend.groups[group].streams:
            backend.create_log_stream(group, LOG_STREAM)
        backend.put_log_events(group, LOG_STREAM, [{"timestamp": int(now.timestamp() * 1000), "message": message}])
        retention.trim_log_stream(backend.groups[group].streams[LOG_STREAM])


def _put_s3(bucket: str, key: str, body: bytes, account_id: str, retention: Retention) -> None:
    from moto.s3.models import s3_backends

    if bucket not in s3_backends.bucket_accounts:
        log.info("bucket %s does not exist; delivery dropped as AWS would", bucket)
        return
    partition, owner = s3_backends.bucket_accounts[bucket]
    backend = s3_backends[owner][partition]
    if bucket not in backend.buckets:
        log.info("bucket %s does not exist; delivery dropped as AWS would", bucket)
        return
    with retention.lock:
        backend.put_object(bucket, key, body)
        retention.object_written(backend, bucket, key)
