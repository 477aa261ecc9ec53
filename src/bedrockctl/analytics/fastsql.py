"""SQL of the ingestion fast path (``fastpath.py``): the raw-record schema, the scan, and the lookup tables of
principals and base models built by the Python rules (completed with the values a scan marked missing)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bedrockctl.analytics.identity import normalise_arn
from bedrockctl.analytics.record_columns import GUARDRAIL_UNITS
from bedrockctl.analytics.record_values import IMAGE_DEFAULTS, resolve_base

# The ModelInvocationLog schema. Every key a record carries should be named here: DuckDB reads unknown keys
# correctly but several times slower.
RAW_COLUMNS = (
    "{'schemaType': 'VARCHAR', 'schemaVersion': 'VARCHAR', 'timestamp': 'VARCHAR', 'accountId': 'VARCHAR', "
    "'identity': 'STRUCT(arn VARCHAR)', 'region': 'VARCHAR', 'requestId': 'VARCHAR', 'operation': 'VARCHAR', "
    "'modelId': 'VARCHAR', 'input': 'STRUCT(inputContentType VARCHAR, inputTokenCount BIGINT, "
    "cacheReadInputTokenCount BIGINT, cacheWriteInputTokenCount BIGINT, "
    "cacheDetails STRUCT(ttl VARCHAR, inputTokens BIGINT)[], inputBodyJson JSON, "
    "inputBodyS3Path VARCHAR, inputBodyBase64 VARCHAR)', "
    "'output': 'STRUCT(outputContentType VARCHAR, outputTokenCount BIGINT, outputBodyJson JSON, "
    "outputBodyS3Path VARCHAR, outputBodyBase64 VARCHAR)', 'inferenceRegion': 'VARCHAR', "
    "'requestMetadata': 'JSON', 'metrics': 'STRUCT(latencyMs BIGINT)', 'errorCode': 'VARCHAR', "
    "'errorMessage': 'VARCHAR', 'serviceTier': 'STRUCT(type VARCHAR)', "
    f"'guardrailUsage': 'STRUCT({', '.join(f'{key} BIGINT' for key, _, _ in GUARDRAIL_UNITS)})'}}"
)


# A prompt-router call's base model: the invoked model its logged Converse response names (as
# ``record_values.router_invoked_base``): the id after the last ``/``, without its geography prefix.
_ROUTER_SQL = "({col} LIKE 'arn:%:default-prompt-router/%' OR {col} LIKE 'arn:%:prompt-router/%')"
_INVOKED_BASE_SQL = (
    "nullif(regexp_replace(regexp_extract(json_extract_string(x.output.outputBodyJson, "
    "'$.trace.promptRouter.invokedModelId'), '/([^/]+)$', 1), '^(us|eu|apac|global|jp|au|ca|us-gov)\\.', ''), '')"
)


def billing_sql() -> str:
    """The service tier, guardrail units and image columns, as ``record_values.billing_fields`` derives them."""
    out, config = "x.output.outputBodyJson", "x.input.inputBodyJson"
    n, quality, width, height = IMAGE_DEFAULTS
    units = ", ".join(
        f"CASE WHEN x.guardrailUsage IS NOT NULL THEN coalesce(x.guardrailUsage.{key}, 0) "
        "WHEN x.operation = 'ApplyGuardrail' "
        f"THEN coalesce(try_cast(json_extract({out}, '$.usage.{key}') AS BIGINT), 0) "
        f"ELSE 0 END AS {column}"
        for key, column, _ in GUARDRAIL_UNITS
    )
    image = f"json_type({config}, '$.imageGenerationConfig') = 'OBJECT'"

    def key(name: str, default: object, cast: str) -> str:
        value = f"try_cast(json_extract_string({config}, '$.imageGenerationConfig.{name}') AS {cast})"
        empty = "''" if cast == "VARCHAR" else "0"
        return f"coalesce(nullif({value}, {empty}), {default!r})"

    return (
        f"coalesce(x.serviceTier.type, json_extract_string({out}, '$.serviceTier.type')) AS service_tier, "
        f"CASE WHEN {image} THEN {key('numberOfImages', n, 'BIGINT')} ELSE 0 END AS image_count, "
        f"CASE WHEN {image} THEN {key('quality', quality, 'VARCHAR')} END AS image_quality, "
        f"CASE WHEN {image} THEN {key('width', width, 'BIGINT')} || 'x' || {key('height', height, 'BIGINT')} "
        f"END AS image_size, {units}"
    )


def _q(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def select_sql(since: str | None, with_filename: bool = True) -> str:
    """The scan: raw records -> stored invocation columns + ``day`` (``_bad`` / ``_skip`` for routed rows).

    Principal and base model come from the lookup tables (``_arn_lookup``, ``_model_lookup``, built by the Python
    rules); a row whose identity or model is missing there is marked ``day = '_miss'`` (``missing_values`` reads
    them, ``extend_lookups`` adds them, the scan is repeated), so the check costs only the Parquet statistics of
    ``day``. ``with_filename``: invalid rows carry their file in ``source`` (else only ``day = '_bad'`` tells them).
    Whether a row is invalid is computed once, in the inner query (``x._bad``).
    """
    arn, model = "x.identity.arn", "x.modelId"
    principal, ptype, pset = "a.principal", "a.principal_type", "a.permission_set"
    base = f"coalesce(m.model_base, CASE WHEN {_ROUTER_SQL.format(col=model)} THEN {_INVOKED_BASE_SQL} END)"
    team, workflow = "json_extract_string(x._meta, '$.team')", "json_extract_string(x._meta, '$.workflow')"
    joins = (
        "LEFT JOIN _arn_lookup AS a ON a.identity_arn IS NOT DISTINCT FROM x.identity.arn "
        "LEFT JOIN _model_lookup AS m ON m.model_id = x.modelId"
    )
    ts = 'x."timestamp"'
    rts = 'r."timestamp"'
    invalid = (
        f"r.requestId IS NULL OR r.requestId = '' OR r.modelId IS NULL OR {rts} IS NULL OR length({rts}) < 19 "
        f"OR substr({rts}, 5, 1) <> '-' OR substr({rts}, 11, 1) <> 'T' OR _ts IS NULL "
        "OR (_meta IS NOT NULL AND NOT starts_with(_meta, '{')) "
        # a negative billed quantity is a bad record, as in record_values.count (which also refuses what overflows
        # BIGINT: here read_json fails on it and the file goes to the Python parser)
        "OR r.input.inputTokenCount < 0 OR r.output.outputTokenCount < 0 OR r.input.cacheReadInputTokenCount < 0 "
        "OR r.input.cacheWriteInputTokenCount < 0 OR r.metrics.latencyMs < 0 "
        "OR list_min(list_transform(r.input.cacheDetails, lambda d: d.inputTokens)) < 0 "
        + " ".join(f"OR r.guardrailUsage.{key} < 0" for key, _, _ in GUARDRAIL_UNITS)
    )
    skip = f"{ts} IS NOT NULL AND {ts} < {_q(since)}" if since else "false"
    source = (
        f"CASE WHEN {skip} THEN 'invocation_log' WHEN x._bad THEN x.filename ELSE 'invocation_log' END"
        if with_filename
        else "'invocation_log'"
    )
    miss = f"a.principal_type IS NULL OR (m.model_id IS NULL AND {model} IS NOT NULL)"
    return f"""
SELECT x.requestId AS request_id, x._ts AS "timestamp", coalesce(x.accountId, '') AS account_id,
       x.region, x.inferenceRegion AS inference_region, coalesce(x.operation, '') AS operation,
       {model} AS model_id, {base} AS model_base, {arn} AS identity_arn, {principal} AS principal,
       {ptype} AS principal_type, {pset} AS permission_set, {team} AS team, {workflow} AS workflow, x._meta AS tags,
       coalesce(x.input.inputTokenCount, 0) AS input_tokens, coalesce(x.output.outputTokenCount, 0) AS output_tokens,
       coalesce(x.input.cacheReadInputTokenCount, 0) AS cache_read_tokens,
       coalesce(x.input.cacheWriteInputTokenCount, 0) AS cache_write_tokens,
       CASE WHEN x.input.cacheDetails IS NULL THEN 0::BIGINT
            ELSE coalesce(list_sum(list_transform(list_filter(x.input.cacheDetails, lambda d: d.ttl = '1h'),
                                                  lambda d: d.inputTokens)), 0)::BIGINT END AS cache_write_1h_tokens,
       x.metrics.latencyMs AS latency_ms, x.errorCode AS error_code,
       {source} AS source,
       {billing_sql()},
       CASE WHEN {skip} THEN '_skip' WHEN x._bad THEN '_bad' WHEN {miss} THEN '_miss'
            WHEN {ts} LIKE '____-__-__T__:__:__Z' THEN substr({ts}, 1, 10)
            ELSE strftime(x._ts, '%Y-%m-%d') END AS day
FROM (
    SELECT r.*, {invalid} AS _bad
    FROM (
        SELECT r.*, CAST(try_cast(rtrim(r."timestamp", 'Z') AS TIMESTAMP) AS TIMESTAMP) AS _ts,
               CAST(CASE WHEN r.requestMetadata IS NULL OR r.requestMetadata = '{{}}' THEN NULL
                         ELSE r.requestMetadata END AS VARCHAR) AS _meta
        FROM read_json($files, format = 'newline_delimited', columns = {RAW_COLUMNS},
                       filename = {str(with_filename).lower()}) AS r
    ) AS r
) AS x {joins}
"""  # noqa: S608 - internal SQL; `since` is quoted


def lookup_tables(con: Any, arns: Any, models: Any) -> None:
    """(Re)create ``_arn_lookup`` and ``_model_lookup`` from the Python rules for the given values."""
    import pyarrow as pa

    arn_values = list(arns)
    arn_list: list[str | None] = [*sorted({a for a in arn_values if isinstance(a, str)})]
    if any(a is None for a in arn_values):
        arn_list.append(None)
    model_list = sorted({m for m in models if isinstance(m, str)})
    ps = [normalise_arn(a) for a in arn_list]
    arn_table = pa.table(
        {
            "identity_arn": pa.array(arn_list, pa.string()),
            "principal": pa.array([p.principal for p in ps], pa.string()),
            "principal_type": pa.array([p.principal_type for p in ps], pa.string()),
            "permission_set": pa.array([p.permission_set for p in ps], pa.string()),
        }
    )
    model_table = pa.table(
        {
            "model_id": pa.array(model_list, pa.string()),
            "model_base": pa.array([resolve_base(m) for m in model_list], pa.string()),
        }
    )
    tables = [("_arn_lookup", arn_table), ("_model_lookup", model_table)]
    for name, table in tables:
        con.register(f"{name}_arrow", table)
        # plain tables (not TEMP): the cursors of the scanning threads see them
        con.execute(f"CREATE OR REPLACE TABLE {name} AS SELECT * FROM {name}_arrow")  # noqa: S608 - fixed names
        con.unregister(f"{name}_arrow")


def missing_values(con: Any, glob: str, partition: bool = False) -> tuple[list[str | None], list[str]]:
    """The identities and models of the rows a scan marked ``_miss`` (not in the lookup tables); ``partition``: the
    files are those of the ``day=_miss`` partition (which holds no ``day`` column)."""
    where = "" if partition else " WHERE day = '_miss'"
    arns = con.execute(f"SELECT DISTINCT identity_arn FROM read_parquet($g){where}", {"g": glob}).fetchall()  # noqa: S608
    models = con.execute(f"SELECT DISTINCT model_id FROM read_parquet($g){where}", {"g": glob}).fetchall()  # noqa: S608
    return [r[0] for r in arns], [r[0] for r in models if r[0] is not None]


def extend_lookups(con: Any, arns: Sequence[str | None], models: Sequence[str]) -> None:
    """Recreate the lookup tables with what they hold (seeds, other days) and the given values."""
    known_arns = [r[0] for r in con.execute("SELECT identity_arn FROM _arn_lookup").fetchall()]
    known_models = [r[0] for r in con.execute("SELECT model_id FROM _model_lookup").fetchall()]
    lookup_tables(con, [*known_arns, *arns], [*known_models, *models])
