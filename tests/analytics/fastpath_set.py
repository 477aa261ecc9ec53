"""What the fast-path tests (``test_fastpath``, ``test_fastpath_odd_values``) share: generated invocation-log
records (identities, models, billed dimensions), a set of log files with bad lines, duplicates and a trail file
mixed in (``build_set``), and what the DuckDB and the Python paths are compared on (``stored``, ``summary``)."""

from __future__ import annotations

import gzip
import json
import random
from pathlib import Path
from typing import Any

from bedrockctl.analytics.ingest import IngestReport
from bedrockctl.analytics.store import UsageStore

ARNS = [
    "arn:aws:sts::111122223333:assumed-role/AWSReservedSSO_Developer_0a1b2c3d4e5f6a7b/alice@example.com",
    "arn:aws:sts::111122223333:assumed-role/AWSReservedSSO_Admin-Team_0123456789abcdef/bob@example.com",
    "arn:aws:sts::111122223333:assumed-role/ci-runner/build-4711",
    "arn:aws:sts::111122223333:assumed-role/lonely-role",
    "arn:aws:iam::111122223333:user/path/to/carol",
    "arn:aws:iam::111122223333:root",
    "arn:aws:sts::111122223333:federated-user/dave",
    "arn:aws:iam::111122223333:role/service/app",
    "arn:aws:iam::111122223333:user/odd:name",  # a colon in the resource: the SQL rules get this one wrong
    "not-an-arn",
]
MODELS = [
    "us.anthropic.claude-3-7-sonnet-20250219-v1:0",
    "anthropic.claude-3-haiku-20240307-v1:0",
    "global.anthropic.claude-sonnet-4-5-20250929-v1:0",
    "eu.amazon.nova-lite-v1:0",
    "arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-pro-v1:0",
    "arn:aws:bedrock:us-east-1:111122223333:application-inference-profile/abcdef123456",
    "Not A Model",
]


def record(rnd: random.Random, n: int, day: int) -> dict[str, Any]:
    rec: dict[str, Any] = {
        "schemaType": "ModelInvocationLog",
        "schemaVersion": "1.0",
        "timestamp": f"2026-10-{day:02d}T{n % 24:02d}:{n % 60:02d}:{n * 7 % 60:02d}Z",
        "accountId": "111122223333",
        "identity": {"arn": ARNS[n % len(ARNS)]},
        "region": "us-east-1",
        "requestId": f"req-{n:06d}",
        "operation": "Converse" if n % 3 else "InvokeModel",
        "modelId": MODELS[n % len(MODELS)],
        "input": {
            "inputContentType": "application/json",
            "inputTokenCount": rnd.randint(1, 5000),
            "cacheReadInputTokenCount": rnd.choice((0, 1024)),
            "cacheWriteInputTokenCount": rnd.choice((0, 0, 2048)),
        },
        "output": {"outputContentType": "application/json", "outputTokenCount": rnd.randint(1, 900)},
        "metrics": {"latencyMs": rnd.randint(50, 3000)},
    }
    if n % 4:
        rec["requestMetadata"] = {"team": f"t{n % 3}", "workflow": f"w{n % 5}", "user": f"u{n % 7}"}
    if n % 11 == 0:
        rec["inferenceRegion"] = "us-west-2"
    if n % 13 == 0:
        rec["errorCode"] = "ThrottlingException"
    if n % 17 == 0:
        del rec["input"]["cacheWriteInputTokenCount"]
    if n % 19 == 0:
        del rec["identity"]  # no identity: principal "unknown"
    billed(rec, n)
    return rec


def billed(rec: dict[str, Any], n: int) -> None:
    """What a call is billed by besides tokens: service tier, guardrail units, images (each in its logged forms)."""
    if n % 5 == 0:
        rec["serviceTier"] = {"type": ("priority", "flex", "default")[n % 3]}
    elif n % 29 == 0:  # only in the logged Converse response body
        rec["output"]["outputBodyJson"] = {"serviceTier": {"type": "flex"}, "stopReason": "end_turn"}
    if n % 7 == 0:
        rec["guardrailUsage"] = {"topicPolicyUnits": n % 4, "contentPolicyUnits": 2, "wordPolicyUnits": 1}
    elif n % 23 == 0:
        rec["operation"] = "ApplyGuardrail"
        usage = {"contentPolicyUnits": 3, "sensitiveInformationPolicyUnits": 1, "contextualGroundingPolicyUnits": 2}
        rec["output"]["outputBodyJson"] = {"action": "NONE", "usage": usage}
    if n % 9 == 0:
        configs = (
            {"numberOfImages": 2, "quality": "premium", "width": 2048, "height": 2048},
            {"numberOfImages": 1, "width": 512, "height": 512},
            {},  # every key at its default
        )
        body = {"taskType": "TEXT_IMAGE", "textToImageParams": {"text": "a lighthouse"}}
        rec["input"]["inputBodyJson"] = {**body, "imageGenerationConfig": configs[n // 9 % 3]}


BAD_LINES = [
    "{not json",
    '{"input": "x"}',
    "[1, 2]",
    "42",
]


def trail_event(request_id: str, event_id: str) -> dict[str, Any]:
    """A Bedrock Converse CloudTrail event (of ``ARNS[4]`` calling ``MODELS[4]``)."""
    return {
        "eventVersion": "1.09",
        "userIdentity": {"type": "IAMUser", "arn": ARNS[4], "accountId": "111122223333"},
        "eventTime": "2026-10-02T04:04:28Z",
        "eventSource": "bedrock.amazonaws.com",
        "eventName": "Converse",
        "awsRegion": "us-east-1",
        "sourceIPAddress": "203.0.113.9",
        "userAgent": "test",
        "requestParameters": {"modelId": MODELS[4]},
        "requestID": request_id,
        "eventID": event_id,
        "recipientAccountId": "111122223333",
    }


def build_set(root: Path, files: int = 8, per_file: int = 120) -> None:
    """Clean gzip files (one spanning two days), files with bad lines mixed in, duplicates across files, blank lines
    and a trail file."""
    rnd = random.Random(7)
    root.mkdir()
    n = 0
    first: list[str] = []
    for f in range(files):
        lines = []
        for i in range(per_file):
            rec = record(rnd, n, 2 if f == 2 and i % 2 else 1 + f % 3)  # file 2 holds records of two days
            n += 1
            if f == 5 and i == 10:
                del rec["requestId"]  # parses, but is not a valid record
            if f == 6 and i == 20:
                rec["input"]["inputTokenCount"] = "many"
            if f == 6 and i == 21:
                rec["requestMetadata"] = "not an object"
            if f == 7 and i == 30:
                rec["timestamp"] = "20261001 10:00"
            lines.append(json.dumps(rec))
            if f == 4 and i == 50:
                lines.append(BAD_LINES[0])
            if i == 60:
                lines.append("")  # blank lines are not records
        if f == 0:
            first = lines[:30]
        if f == 3:
            lines[40:40] = BAD_LINES[1:]
        body = ("\n".join(lines) + "\n").encode()
        path = root / f"2026/10/part-{f:03d}.json.gz"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(gzip.compress(body))
    # the first 30 records again in another file: duplicates across files of one run
    (root / "again.jsonl").write_text("\n".join(first) + "\n")
    trail = {"Records": [trail_event("req-000004", "e-1")]}
    (root / "trail.json.gz").write_bytes(gzip.compress(json.dumps(trail).encode()))


def stored(store: UsageStore) -> list[tuple[Any, ...]]:
    con = store.connect()
    rows = con.execute("SELECT * EXCLUDE (tags), tags FROM inv ORDER BY request_id").fetchall()
    con.close()
    return [(*r[:-1], json.loads(r[-1]) if r[-1] else None) for r in rows]


def summary(rep: IngestReport) -> dict[str, Any]:
    out = rep.to_dict()
    out.pop("fast_records")
    out["bad"] = sorted((Path(b["origin"]).name, b["line"]) for b in out["bad"])
    return out
