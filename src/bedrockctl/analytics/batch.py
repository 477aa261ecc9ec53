"""Batch inference output (``CreateModelInvocationJob``) as usage records, priced at the batch rate.

Bedrock writes a job's output under ``<outputDataConfig s3Uri>/<job id>/``: one ``<input file>.jsonl.out`` per input
file, each line ``{"recordId", "modelInput", "modelOutput"}`` (or ``"error"`` instead of ``modelOutput`` for a record
that failed, which is not billed), and ``manifest.json.out`` with the job's totals (``totalRecordCount``,
``processedRecordCount``, ``successRecordCount``, ``errorRecordCount``, ``inputTokenCount``, ``outputTokenCount``).
See docs.aws.amazon.com/bedrock/latest/userguide/batch-inference-results.html.

The output names neither the model nor the job, so each job folder also needs the job itself: ``job.json``, the
``GetModelInvocationJob`` response saved beside the output (``aws bedrock get-model-invocation-job
--job-identifier ARN > job.json``), optionally with the job's tags as ``ListTagsForResource`` returns them
(``"tags": [{"key", "value"}]``). From it: the model (``modelId``), account and Region (``jobArn``), the time
(``endTime``, else ``lastModifiedTime``, else ``submitTime``) and the tags (stored as the records'
``requestMetadata``, so ``--by tag:KEY`` attributes the job). The submitter is in CloudTrail's
``CreateModelInvocationJob`` event, not in the job: records carry no identity (principal ``unknown``) unless a tag
``gateway_user`` names the user.

Every successful record becomes one invocation record (request id ``<job id>:<recordId>``, operation
``ModelInvocationJob``, service tier ``batch``, source ``batch_output``) with the tokens its ``modelOutput`` reports
(the usage block of Converse, Anthropic Messages, Nova, OpenAI-style, Titan and Llama bodies). When their sum differs
from the manifest's totals the job is reported as a bad record (the records are kept).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from bedrockctl.analytics.errors import UsageSourceError
from bedrockctl.analytics.records import Columns, add_invocation
from bedrockctl.analytics.sources import Checkpoints, Source, Unit, aws_call, client

JOB_FILE = "job.json"
MANIFEST = "manifest.json.out"
OUTPUT_SUFFIX = ".jsonl.out"
SOURCE = "batch_output"


def usage_of(body: Any) -> tuple[int, int, int, int]:
    """(input, output, cache read, cache write) tokens of one ``modelOutput`` body."""
    if not isinstance(body, dict):
        return 0, 0, 0, 0
    u = body.get("usage")
    if isinstance(u, dict):
        return (
            int(u.get("inputTokens") or u.get("input_tokens") or u.get("prompt_tokens") or 0),
            int(u.get("outputTokens") or u.get("output_tokens") or u.get("completion_tokens") or 0),
            int(
                u.get("cacheReadInputTokens")
                or u.get("cacheReadInputTokenCount")
                or u.get("cache_read_input_tokens")
                or 0
            ),
            int(
                u.get("cacheWriteInputTokens")
                or u.get("cacheWriteInputTokenCount")
                or u.get("cache_creation_input_tokens")
                or 0
            ),
        )
    if "inputTextTokenCount" in body:  # Titan text / embeddings
        out = sum(int(r.get("tokenCount") or 0) for r in body.get("results") or () if isinstance(r, dict))
        return int(body["inputTextTokenCount"] or 0), out, 0, 0
    if "prompt_token_count" in body:  # Llama
        return int(body["prompt_token_count"] or 0), int(body.get("generation_token_count") or 0), 0, 0
    return 0, 0, 0, 0


def _iso(value: Any) -> str:
    """A GetModelInvocationJob time (ISO 8601, with or without an offset) as an invocation-log timestamp (UTC)."""
    ts = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return (ts.astimezone(UTC) if ts.tzinfo else ts).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_job(files: dict[str, bytes], origin: str, cols: Columns) -> int:
    """Parse one job folder (file name -> content) into ``cols``; returns the records seen."""
    if JOB_FILE not in files:
        cols.add_bad(origin, 0, f"no {JOB_FILE} (the GetModelInvocationJob response) beside the batch output")
        return 1
    try:
        job = orjson.loads(files[JOB_FILE])
        arn = str(job["jobArn"])
        parts = arn.split(":")
        region, account, job_id = parts[3], parts[4], arn.rsplit("/", 1)[-1]
        ts = _iso(job.get("endTime") or job.get("lastModifiedTime") or job["submitTime"])
        tags = {str(t["key"]): str(t["value"]) for t in job.get("tags") or ()}
        model = str(job["modelId"])
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        cols.add_bad(f"{origin}/{JOB_FILE}", 0, f"not a GetModelInvocationJob response: {type(exc).__name__}: {exc}")
        return 1
    seen, totals = 0, [0, 0]
    for name in sorted(n for n in files if n.endswith(OUTPUT_SUFFIX)):
        for n, line in enumerate(files[name].split(b"\n"), 1):
            if not line.strip():
                continue
            seen += 1
            try:
                rec = orjson.loads(line)
                if "modelOutput" not in rec:  # an errored record: not billed
                    cols.skipped += 1
                    continue
                i, o, cr, cw = usage_of(rec["modelOutput"])
                totals[0], totals[1] = totals[0] + i, totals[1] + o
                add_invocation(
                    cols,
                    {
                        "timestamp": ts,
                        "accountId": account,
                        "region": region,
                        "requestId": f"{job_id}:{rec['recordId']}",
                        "operation": "ModelInvocationJob",
                        "modelId": model,
                        "input": {
                            "inputTokenCount": i,
                            "cacheReadInputTokenCount": cr,
                            "cacheWriteInputTokenCount": cw,
                        },
                        "output": {"outputTokenCount": o},
                        "requestMetadata": tags or None,
                        "serviceTier": {"type": "batch"},
                    },
                    source=SOURCE,
                )
            except (KeyError, TypeError, ValueError, AttributeError) as exc:
                cols.add_bad(f"{origin}/{name}", n, f"{type(exc).__name__}: {exc}")
    try:
        manifest = orjson.loads(files[MANIFEST]) if MANIFEST in files else {}
        want = [int(manifest[k]) for k in ("inputTokenCount", "outputTokenCount") if manifest.get(k) is not None]
    except (TypeError, ValueError, AttributeError) as exc:
        cols.add_bad(f"{origin}/{MANIFEST}", 0, f"not a batch manifest: {type(exc).__name__}: {exc}")
        return seen
    if len(want) == 2 and want != totals:
        cols.add_bad(
            f"{origin}/{MANIFEST}",
            0,
            f"the records' tokens (input {totals[0]}, output {totals[1]}) differ from the manifest's "
            f"(input {want[0]}, output {want[1]})",
        )
    return seen


class BatchSource(Source):
    """``batch:PATH`` or ``batch:s3://bucket/prefix``: every folder under it holding a ``manifest.json.out`` is one
    job (one unit, checkpointed by its files' sizes and times, or ETags)."""

    def __init__(self, spec: str, sessions: Any = None) -> None:
        self.spec, self.sessions = spec, sessions
        self.where = spec.removeprefix("batch:")
        if not self.where.startswith("s3://") and not Path(self.where).expanduser().is_dir():
            raise UsageSourceError(f"{spec}: no such directory")

    def units(self, checkpoints: Checkpoints) -> Iterator[Unit]:
        if self.where.startswith("s3://"):
            yield from self._s3_units()
            return
        root = Path(self.where).expanduser().resolve()
        for manifest in sorted(root.rglob(MANIFEST)):
            folder = manifest.parent
            paths = sorted(p for p in folder.iterdir() if p.is_file() and _wanted(p.name))
            stamp = ",".join(f"{p.name}:{p.stat().st_size}:{p.stat().st_mtime_ns}" for p in paths)

            def read(paths: list[Path] = paths, stamp: str = stamp) -> tuple[bytes, str]:
                return _bundle({p.name: p.read_bytes() for p in paths}), stamp

            yield Unit(f"batch:{folder}", stamp, read, sum(p.stat().st_size for p in paths), parse=_parse)

    def _s3_units(self) -> Iterator[Unit]:
        bucket, _, prefix = self.where[5:].partition("/")
        s3 = client(self.sessions, "s3")

        def listing() -> list[dict[str, Any]]:
            out: list[dict[str, Any]] = []
            for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
                out.extend(page.get("Contents", []))
            return out

        folders: dict[str, list[dict[str, Any]]] = {}
        for obj in aws_call(listing, "s3:ListObjectsV2"):
            folder, _, name = str(obj["Key"]).rpartition("/")
            if _wanted(name):
                folders.setdefault(folder, []).append(obj)
        for folder, objs in sorted(folders.items()):
            if not any(o["Key"].endswith("/" + MANIFEST) for o in objs):
                continue
            stamp = ",".join(f"{o['Key'].rpartition('/')[2]}:{str(o.get('ETag', '')).strip(chr(34))}" for o in objs)

            def read(objs: list[dict[str, Any]] = objs, stamp: str = stamp) -> tuple[bytes, str]:
                def get(key: str) -> bytes:
                    return bytes(aws_call(lambda: s3.get_object(Bucket=bucket, Key=key)["Body"].read(), "s3:GetObject"))

                return _bundle({o["Key"].rpartition("/")[2]: get(o["Key"]) for o in objs}), stamp

            size = sum(int(o.get("Size", 0)) for o in objs)
            yield Unit(f"batch:s3://{bucket}/{folder}", stamp, read, size, parse=_parse)


def _wanted(name: str) -> bool:
    return name in (JOB_FILE, MANIFEST) or name.endswith(OUTPUT_SUFFIX)


def _bundle(files: dict[str, bytes]) -> bytes:
    return orjson.dumps({name: data.decode(errors="replace") for name, data in files.items()})


def _parse(payload: bytes, origin: str, cols: Columns) -> int:
    files = {name: str(text).encode() for name, text in orjson.loads(payload).items()}
    return parse_job(files, origin, cols)
