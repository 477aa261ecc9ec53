"""Errors of the usage and cost analytics (codes ``BRC-USG-00N``)."""

from __future__ import annotations

from bedrockctl.errors import BedrockctlError


class UsageError(BedrockctlError):
    code = "BRC-USG-001"
    title = "Usage analytics failed"
    default_remediation = "Re-run with --verbose; check the source paths and the data directory."
    exit_code = 2


class UsageSourceError(UsageError):
    code = "BRC-USG-002"
    title = "Usage source cannot be read"
    default_remediation = (
        "Give a local file or directory, s3://bucket/prefix, cloudwatch:LOG_GROUP or `lookup`, "
        "and check that the caller may read it."
    )


class AnalyticsDependencyMissing(UsageError):
    code = "BRC-USG-003"
    title = "Analytics dependencies are not installed"
    default_remediation = "Install them with `pip install 'bedrockctl[analytics]'` (duckdb, pyarrow, sqlglot)."


class NoUsageData(UsageError):
    code = "BRC-USG-004"
    title = "No usage data ingested yet"
    default_remediation = "Run `bedrockctl usage ingest --invocation-logs SRC` (or --cloudtrail SRC) first."


class ReportSpecError(UsageError):
    code = "BRC-USG-005"
    title = "Invalid report specification"
    default_remediation = "Use --by model|user|day|region|team|workflow|operation|tag:KEY and a valid period."


class AthenaQueryFailed(UsageError):
    code = "BRC-USG-006"
    title = "Athena query failed"
    default_remediation = "Check the workgroup, the output location and the Glue table (see docs/usage.md)."


class UsageStoreBusy(UsageError):
    code = "BRC-USG-007"
    title = "The usage store is being written by another process"
    default_remediation = (
        "Wait for the other `bedrockctl usage ingest` (or the gateway's ledger write) to finish and retry."
    )


class BillExportError(UsageError):
    code = "BRC-USG-008"
    title = "The bill export cannot be read"
    default_remediation = (
        "Give --cur a CUR 2.0 export (AWS Data Exports, COST_AND_USAGE_REPORT; Parquet or CSV) as s3://bucket/prefix, "
        "a folder or a file, with the CUR 2.0 column names (line_item_usage_start_date, line_item_unblended_cost, ...)."
    )
