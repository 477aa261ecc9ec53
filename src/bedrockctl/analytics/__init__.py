"""Usage and cost analytics: ingestion (invocation logs, CloudTrail), the local DuckDB/Parquet store, reports.

Heavy dependencies (duckdb, pyarrow, sqlglot) are imported lazily, inside functions.
"""
