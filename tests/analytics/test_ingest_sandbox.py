"""The same report from local files, from S3 and from CloudWatch Logs in the sandbox; LookupEvents pagination."""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bedrockctl.analytics.ingest import ingest
from bedrockctl.analytics.reports import duckdb_runner, run_report
from bedrockctl.analytics.store import UsageStore
from bedrockctl.aws.session import SessionFactory
from bedrockctl.samples import SampleSet
from bedrockctl.settings import AwsSettings


def report_of(store: UsageStore, by: str) -> dict[str, Any]:
    con = store.connect()
    try:
        return run_report(duckdb_runner(con), by).to_dict()
    finally:
        con.close()


def sessions(endpoint: str) -> SessionFactory:
    return SessionFactory(AwsSettings(region="us-east-1", endpoint_url=endpoint, retry_attempts=1))


def test_local_s3_and_cloudwatch_reports_are_identical(
    tmp_path: Path, samples: SampleSet, sandbox_env: Any, boto_client: Callable[..., Any]
) -> None:
    lines = samples.invocation_logs.read_text().splitlines()
    s3 = boto_client("s3")
    s3.create_bucket(Bucket="invocation-logs")
    for i, line in enumerate(lines):  # S3 delivery layout: one gzipped object per record here
        rec = json.loads(line)
        ts = rec["timestamp"]
        key = (
            f"logs/AWSLogs/{rec['accountId']}/BedrockModelInvocationLogs/{rec['region']}/"
            f"{ts[:4]}/{ts[5:7]}/{ts[8:10]}/{ts[11:13]}/{i:04d}.json.gz"
        )
        s3.put_object(Bucket="invocation-logs", Key=key, Body=gzip.compress((line + "\n").encode()))
    logs = boto_client("logs")
    logs.create_log_group(logGroupName="/bedrock/invocations")
    logs.create_log_stream(logGroupName="/bedrock/invocations", logStreamName="aws/bedrock/modelinvocations")
    from datetime import datetime

    events = [
        {
            "timestamp": int(
                datetime.fromisoformat(json.loads(x)["timestamp"].replace("Z", "+00:00")).timestamp() * 1000
            ),
            "message": x,
        }
        for x in lines
    ]
    accepted = logs.put_log_events(
        logGroupName="/bedrock/invocations", logStreamName="aws/bedrock/modelinvocations", logEvents=events
    )
    assert "rejectedLogEventsInfo" not in accepted  # CloudWatch Logs refuses events older than 14 days

    sf = sessions(sandbox_env.endpoint_url)
    local, from_s3, from_cw = (UsageStore(tmp_path / n) for n in ("local", "s3", "cw"))
    ingest(local, [str(samples.invocation_logs)])
    r_s3 = ingest(from_s3, ["s3://invocation-logs/logs/"], sessions=sf)
    r_cw = ingest(from_cw, ["cloudwatch:/bedrock/invocations"], sessions=sf)
    assert (r_s3.new_invocations, r_cw.new_invocations) == (6, 6)
    for by in ("model", "user", "day", "tag:workflow,region"):
        expected = report_of(local, by)
        assert report_of(from_s3, by) == expected
        assert report_of(from_cw, by) == expected
    assert report_of(from_s3, "model")["totals"]["input_tokens"] == 11800

    # incremental: nothing new -> nothing read again; one new log event -> only it is new
    again = ingest(from_cw, ["cloudwatch:/bedrock/invocations"], sessions=sf)
    assert again.new_invocations == 0
    extra = json.loads(lines[0])
    extra["requestId"] = "5f0c2e1a-0000-4000-8000-000000000099"
    logs.put_log_events(
        logGroupName="/bedrock/invocations",
        logStreamName="aws/bedrock/modelinvocations",
        logEvents=[{"timestamp": events[-1]["timestamp"] + 1000, "message": json.dumps(extra)}],
    )
    more = ingest(from_cw, ["cloudwatch:/bedrock/invocations"], sessions=sf)
    assert more.new_invocations == 1 and more.duplicates >= 0
    s3_again = ingest(from_s3, ["s3://invocation-logs/logs/"], sessions=sf)
    assert (s3_again.units_read, s3_again.units_skipped) == (0, 6)


def test_lookup_events_paginates_and_joins_sandbox_invocation_logs(
    tmp_path: Path, sandbox_env: Any, boto_client: Callable[..., Any]
) -> None:
    from bedrockctl.sandbox.testing import install_probe_route, signed_request

    install_probe_route()
    s3 = boto_client("s3")
    s3.create_bucket(Bucket="bedrock-logs")
    bedrock = boto_client("bedrock")
    bedrock.put_model_invocation_logging_configuration(
        loggingConfig={"s3Config": {"bucketName": "bedrock-logs", "keyPrefix": "inv"}, "textDataDeliveryEnabled": False}
    )
    n = 57  # more than one LookupEvents page (50)
    for i in range(n):
        status, _, _ = signed_request(
            sandbox_env.endpoint_url,
            "POST",
            "/model/amazon.nova-lite-v1:0/sandbox-probe",
            {"input_tokens": 100 + i, "output_tokens": 10, "request_metadata": {"team": "data"}},
        )
        assert status == 200
    # a control-plane event is not a runtime call
    bedrock.list_foundation_models()
    sf = sessions(sandbox_env.endpoint_url)
    store = UsageStore(tmp_path / "usage")
    rep = ingest(store, ["lookup"], sessions=sf)
    assert rep.trail_events == n and rep.new_trail_events == n
    logs = ingest(store, ["s3://bedrock-logs/inv/"], sessions=sf)
    assert logs.new_invocations == n
    con = store.connect()
    row = con.execute(
        "SELECT count(*), sum(input_tokens), count(source_ip), count(DISTINCT source) , any_value(team) "
        "FROM invocations"
    ).fetchone()
    con.close()
    # joined by request id: n invocations (not 2n), every one with the caller's address from CloudTrail
    assert row == (n, sum(100 + i for i in range(n)), n, 1, "data")
    again = ingest(store, ["lookup"], sessions=sf)
    assert again.new_trail_events == 0
