"""``bedrockctl serve`` (the gateway) and ``bedrockctl audit list|export`` (its audit trail)."""

from __future__ import annotations

import os
import sys
import time
from typing import Any

import typer

from bedrockctl.cli.output import Col, current, emit, print_table

audit_app = typer.Typer(help="The gateway's audit trail: one append-only record per request.", no_args_is_help=True)


def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="Interface to listen on (0.0.0.0 for every interface)."),
    port: int = typer.Option(8080, "--port", min=0, max=65535, help="TCP port."),
    workers: int = typer.Option(1, "--workers", min=1, help="Worker processes (use PostgreSQL beyond one node)."),
    log_level: str = typer.Option("warning", "--log-level", help="uvicorn log level."),
    tls_cert: str | None = typer.Option(None, "--tls-cert", help="PEM certificate: serve HTTPS."),
    tls_key: str | None = typer.Option(None, "--tls-key", help="PEM private key of --tls-cert."),
    tls: str | None = typer.Option(
        None,
        "--tls",
        help="self-signed: serve HTTPS for local use with a certificate from a local CA kept in the data directory "
        "(created, or reused while valid); prints the CA path and the export AWS_CA_BUNDLE line.",
    ),
    http: str = typer.Option(
        "1.1",
        "--http",
        help="1.1: HTTP/1.1 (uvicorn). 2: HTTP/2 as well (granian): h2 by ALPN over TLS, h2c with prior "
        "knowledge in cleartext, HTTP/1.1 for every other client. The AWS SDK for JavaScript v3 needs 2 to stream.",
    ),
) -> None:
    """Run the gateway: Bedrock-native and OpenAI-compatible routes with keys, budgets, limits and audit.

    Serve HTTPS (--tls-cert/--tls-key, --tls self-signed on one machine, or TLS at a load balancer) when callers
    use bearer tokens: botocore 1.44 and later send AWS_BEARER_TOKEN_BEDROCK only to https endpoints.

    Examples: bedrockctl serve --host 0.0.0.0 --port 8443 --workers 4 --tls-cert gw.pem --tls-key gw.key

      bedrockctl serve --port 8443 --tls self-signed --http 2
    """
    from bedrockctl.errors import ValidationFailed

    if bool(tls_cert) != bool(tls_key):
        raise ValidationFailed("give both --tls-cert and --tls-key", remediation="Add the missing one of the two.")
    if tls not in (None, "self-signed"):
        raise ValidationFailed(
            f"--tls {tls!r}: the only value is self-signed",
            remediation="Use --tls self-signed for local use, or bring a certificate with --tls-cert/--tls-key.",
        )
    if tls and tls_cert:
        raise ValidationFailed(
            "--tls self-signed and --tls-cert/--tls-key both choose the certificate",
            remediation="Give one of them: --tls self-signed (local CA) or --tls-cert/--tls-key (your certificate).",
        )
    from bedrockctl.server.serving import (
        Listener,
        check_http_version,
        open_file_warning,
        raise_open_file_limit,
        run_http2,
    )

    check_http_version(http)
    from bedrockctl.extras import require

    require("server", feature="bedrockctl serve")
    import uvicorn

    from bedrockctl.cli.ports import check_port
    from bedrockctl.server.gateway.options import GatewayOptions, master_secret
    from bedrockctl.store.gateway import open_engine

    check_port(host, port)  # a busy port: BRC-CLI-003 naming --port, before anything is migrated or started
    cli = current()
    ctx = cli.app()
    opts = GatewayOptions.from_settings(ctx.settings)
    open_engine(ctx.settings, opts, migrate=True).dispose()  # migrate once, before the workers start
    master_secret(opts, ctx.settings)  # create the secret file once, if it is the one in use
    for env_name, value in (
        ("BEDROCKCTL_CONFIG", cli.config_path),
        ("BEDROCKCTL_REGION", cli.flags.get("aws.region")),
        ("BEDROCKCTL_PROFILE", cli.flags.get("aws.profile")),
    ):
        if value:
            os.environ[env_name] = str(value)
    os.environ["BEDROCKCTL_GATEWAY_MIGRATED"] = "1"
    if tls:
        tls_cert, tls_key = _self_signed(ctx.settings, host)
    scheme = "https" if tls_cert else "http"
    sys.stderr.write(f"bedrockctl gateway on {scheme}://{host}:{port} ({workers} worker{'s' if workers > 1 else ''})\n")
    open_files = raise_open_file_limit()[1]
    warning = open_file_warning(open_files)
    if warning:
        sys.stderr.write(warning)
    from bedrockctl.server.gateway.hardening import granian_options, uvicorn_options

    if http == "2":  # HTTP/2 and HTTP/1.1 on one port (server/serving.py); HTTP/1.1 alone stays on uvicorn
        _metrics_dir()
        run_http2(Listener(host, port, workers, log_level, tls_cert, tls_key), granian_options(opts, open_files))
        return
    _metrics_dir()

    uvicorn.run(
        "bedrockctl.server.asgi:app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        loop="uvloop",
        lifespan="on",
        log_level=log_level,
        timeout_graceful_shutdown=10,
        ssl_certfile=tls_cert,
        ssl_keyfile=tls_key,
        **uvicorn_options(opts, ctx.settings.logging),  # http protocol (header timeout), keep-alive, logs
    )


def _self_signed(settings: Any, host: str) -> tuple[str, str]:
    """The local CA's server certificate for ``host`` (created or reused), announced on stderr."""
    from bedrockctl.paths import data_dir
    from bedrockctl.security.tls import ensure_local_tls

    hosts = [] if host in ("0.0.0.0", "::", "") else [host]
    local = ensure_local_tls(data_dir(settings) / "tls", hosts)
    state = "created" if local.created else "reused"
    sys.stderr.write(
        f"TLS: certificate for {', '.join(local.hosts)} from the local CA {local.ca_cert} ({state}; valid until "
        f"{local.not_after:%Y-%m-%d})\n"
        "Clients of this gateway trust that CA (it replaces the default trust store, so set it only for them):\n"
        f"  export AWS_CA_BUNDLE={local.ca_cert}\n"
        f"  export SSL_CERT_FILE={local.ca_cert}   # httpx / the OpenAI SDK\n"
    )
    return str(local.cert), str(local.key)


def _metrics_dir() -> None:
    """One PROMETHEUS_MULTIPROC_DIR per run, emptied on start and shared by the workers (a scrape of /metrics sums
    them all); removed when serve exits if serve made it."""
    import atexit

    from bedrockctl.server.gateway.metrics import MULTIPROC_ENV, prepare_multiprocess_dir, remove_multiprocess_dir

    path, owned = prepare_multiprocess_dir()
    os.environ[MULTIPROC_ENV] = str(path)
    atexit.register(remove_multiprocess_dir, path, owned)


def _since(value: str | None) -> float | None:
    if not value:
        return None
    units = {"m": 60, "h": 3600, "d": 86400}
    if value[-1] in units and value[:-1].isdigit():
        return time.time() - int(value[:-1]) * units[value[-1]]
    from datetime import datetime

    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


@audit_app.command("list")
def audit_list(
    since: str | None = typer.Option(None, "--since", help="ISO time or a duration such as 30m, 24h, 7d."),
    key: str | None = typer.Option(None, "--key", help="Only this gateway key id."),
    team: str | None = typer.Option(None, "--team"),
    user: str | None = typer.Option(None, "--user"),
    status: str | None = typer.Option(None, "--status", help="ok, budget_exceeded, rate_limited, ..."),
    limit: int = typer.Option(50, "--limit", help="The most recent N records."),
) -> None:
    """The most recent audit records. Example: bedrockctl audit list --since 24h --team ml --output text"""
    from bedrockctl.services.gateway_admin import audit_records

    settings = current().app().settings
    found = audit_records(settings, since=_since(since), key_id=key, team=team, user=user, status=status, limit=limit)
    emit([r.public() for r in found], table=_audit_table)


def _audit_table(rows: list[dict[str, Any]]) -> None:
    print_table(
        "Gateway audit",
        [
            Col("time", drop=2),
            "key",
            "user",
            "team",
            "model",
            Col("tokens in/out", drop=3, right=True),
            Col("cost $", money=True),
            "status",
            Col("ms", drop=4, right=True),
            Col("client", drop=1),
        ],
        [
            (
                r["time"],
                r["key_id"],
                r["user_name"],
                r["team"],
                r["model_served"] or r["model_requested"],
                f"{r['input_tokens']}/{r['output_tokens']}",
                r["cost_usd"],
                r["status"],
                r["latency_ms"],
                r["client"],
            )
            for r in rows
        ],
    )


@audit_app.command("export")
def audit_export(
    since: str | None = typer.Option(None, "--since", help="ISO time or a duration such as 30m, 24h, 7d."),
    until: str | None = typer.Option(None, "--until", help="ISO time (exclusive)."),
    fmt: str = typer.Option("jsonl", "--format", help="jsonl, csv or invocation-log (ingestible by `usage`)."),
    file: str | None = typer.Option(None, "--file", "-o", help="File to write (default: stdout)."),
) -> None:
    """Every audit record of a period, in --format, to --file or stdout. With --file the result is a summary (records,
    file, format); without it, --output json/yaml/text/csv prints the records themselves in that format.

    Example: bedrockctl audit export --since 7d --format csv -o audit.csv"""
    import csv

    import orjson

    from bedrockctl.services.gateway_admin import audit_records

    if fmt not in ("jsonl", "csv", "invocation-log"):
        raise typer.BadParameter("--format must be jsonl, csv or invocation-log", param_hint="--format")

    cli = current()
    records = audit_records(cli.app().settings, since=_since(since), until=_since(until), limit=None)
    docs = (r.invocation_log() if fmt == "invocation-log" else r.public() for r in records)
    if file is None and cli.machine:
        emit(list(docs))
        return
    count = 0
    fh = open(file, "w", newline="") if file else sys.stdout  # noqa: SIM115
    try:
        writer: csv.DictWriter[str] | None = None
        for doc in docs:  # streamed: an export of every record never sits in memory
            count += 1
            if fmt != "csv":
                fh.write(orjson.dumps(doc).decode() + "\n")
                continue
            if writer is None:
                writer = csv.DictWriter(fh, fieldnames=list(doc))
                writer.writeheader()
            writer.writerow(doc)
    finally:
        if file:
            fh.close()
    if file:
        emit({"records": count, "file": file, "format": fmt}, line=f"{count} audit records -> {file} ({fmt})")


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
    app.add_typer(audit_app, name="audit")


if __name__ == "__main__":  # ``python -m bedrockctl.cli.serve_cmd serve ...`` (tests, containers)
    standalone = typer.Typer(no_args_is_help=True)
    register(standalone)
    standalone()
