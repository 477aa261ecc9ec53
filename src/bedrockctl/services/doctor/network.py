"""Network checks: custom endpoints, proxies, TCP + TLS reachability (DNS and VPC endpoints: ``network_dns``).

Reachability opens a TCP connection and a TLS handshake with a short timeout, through the HTTPS proxy when the
environment routes the host through one (CONNECT tunnel), and never retries.
"""

from __future__ import annotations

import socket
import ssl
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any

from bedrockctl.errors import ConnectTimeout, EndpointUnreachable
from bedrockctl.services.doctor.model import Check, Facts

BEDROCK_SERVICES = ("bedrock", "bedrock-runtime", "bedrock-agent", "bedrock-agent-runtime")
SAGEMAKER_SERVICES = ("sagemaker", "sagemaker-runtime")
_HOSTS = {
    "sagemaker": "api.sagemaker.{region}.amazonaws.com",
    "sagemaker-runtime": "runtime.sagemaker.{region}.amazonaws.com",
}


@dataclass
class Endpoint:
    service: str
    url: str
    host: str
    port: int
    scheme: str
    custom_source: str | None  # which setting named a custom endpoint, or None for the AWS one
    aws_host: str


def services(facts: Facts) -> tuple[str, ...]:
    return BEDROCK_SERVICES + (SAGEMAKER_SERVICES if facts.options.sagemaker else ())


def aws_host(service: str, region: str) -> str:
    return _HOSTS.get(service, "{service}.{region}.amazonaws.com").format(service=service, region=region)


def endpoint(facts: Facts, service: str) -> Endpoint:
    region = facts.region or "us-east-1"
    host = aws_host(service, region)
    custom = facts.sessions.endpoint_for(service)
    source = None
    if custom:
        var = "AWS_ENDPOINT_URL_" + service.upper().replace("-", "_")
        if facts.env.get(var):
            source = var
        elif facts.sessions.settings.endpoint_url:
            source = setting_origin(facts.sources.get("aws.endpoint_url"), "endpoint_url")
        else:
            source = "AWS_ENDPOINT_URL"
    url = custom or f"https://{host}"
    parts = urllib.parse.urlsplit(url)
    scheme = parts.scheme or "https"
    return Endpoint(
        service, url, parts.hostname or host, parts.port or (443 if scheme == "https" else 80), scheme, source, host
    )


def setting_origin(origin: str | None, key: str) -> str:
    """Where a setting came from, in words, from the settings' provenance (``Settings.sources``)."""
    kind, _, where = (origin or "").partition(":")
    if kind == "env":
        return where
    if kind == "file":
        return f"{key} in {where}"
    if kind == "ssm":
        return f"SSM parameter {where}"
    if kind == "flag":
        return "a command-line flag"
    return f"{key} in the bedrockctl settings"


def endpoint_check(facts: Facts) -> Check:
    eps = [endpoint(facts, s) for s in services(facts)]
    custom = [e for e in eps if e.custom_source]
    data = {e.service: {"url": e.url, "custom_source": e.custom_source} for e in eps}
    if not custom:
        return Check(
            "network.endpoint",
            "Service endpoints",
            "info",
            "pass",
            "AWS public endpoints: " + ", ".join(e.host for e in eps),
            data=data,
        )
    named = "; ".join(f"{e.service} -> {e.url} (from {e.custom_source})" for e in custom)
    return Check(
        "network.endpoint",
        "Service endpoints",
        "info",
        "pass",
        f"Custom endpoint in use: {named}.",
        "Unset AWS_ENDPOINT_URL / AWS_ENDPOINT_URL_<SERVICE> to talk to AWS directly.",
        data=data,
    )


def proxy_for(host: str, scheme: str) -> str | None:
    proxies = urllib.request.getproxies_environment()
    proxy = proxies.get(scheme) or proxies.get("https" if scheme == "https" else "http")
    bypass = urllib.request.proxy_bypass_environment  # type: ignore[attr-defined]
    if not proxy or bypass(host, proxies):
        return None
    return proxy


def proxy_check(facts: Facts) -> Check:
    proxies = urllib.request.getproxies_environment()
    eps = [endpoint(facts, s) for s in services(facts)]
    if not any(k in proxies for k in ("https", "http")):
        return Check(
            "network.proxy",
            "HTTPS_PROXY / NO_PROXY",
            "info",
            "pass",
            "No HTTPS_PROXY/HTTP_PROXY: connections go direct.",
        )
    routes = {e.service: proxy_for(e.host, e.scheme) for e in eps}
    shown = {k: v for k, v in proxies.items() if k in ("https", "http", "no")}
    via = [s for s, p in routes.items() if p]
    direct = [s for s, p in routes.items() if not p]
    evidence = (
        f"Proxy settings {shown}. Through the proxy: {', '.join(via) or 'none'}; bypassed by NO_PROXY: "
        f"{', '.join(direct) or 'none'}."
    )
    return Check(
        "network.proxy",
        "HTTPS_PROXY / NO_PROXY",
        "info",
        "pass",
        evidence,
        "Add hosts to NO_PROXY (e.g. .amazonaws.com or the VPC endpoint DNS names) to bypass the proxy.",
        data={"routes": routes},
    )


def reach_check(facts: Facts, service: str) -> Check:
    ep = endpoint(facts, service)
    kw: dict[str, Any] = {"target": service, "region": facts.region}
    title = "TCP and TLS reachability"
    timeout = facts.options.network_timeout
    proxy = proxy_for(ep.host, ep.scheme)
    started = time.perf_counter()
    hop = f"proxy {proxy}" if proxy else f"{ep.host}:{ep.port}"
    try:
        if proxy:
            p = urllib.parse.urlsplit(proxy)
            sock = socket.create_connection((p.hostname or "", p.port or 8080), timeout=timeout)
        else:
            sock = socket.create_connection((ep.host, ep.port), timeout=timeout)
        tcp_ms = int((time.perf_counter() - started) * 1000)
        with sock:
            if proxy:
                sock.sendall(f"CONNECT {ep.host}:{ep.port} HTTP/1.1\r\nHost: {ep.host}:{ep.port}\r\n\r\n".encode())
                line = sock.recv(4096).split(b"\r\n", 1)[0].decode("latin-1")
                if " 200" not in line:
                    raise ConnectionError(f"proxy answered {line!r} to CONNECT")
            if ep.scheme != "https":
                return Check(
                    "network.reach",
                    title,
                    "high",
                    "pass",
                    f"TCP to {hop} in {tcp_ms} ms; plain http endpoint (no TLS).",
                    data={"tcp_ms": tcp_ms},
                    **kw,
                )
            ctx = ssl.create_default_context()
            with ctx.wrap_socket(sock, server_hostname=ep.host) as tls:
                version = tls.version()
        total = int((time.perf_counter() - started) * 1000)
        return Check(
            "network.reach",
            title,
            "high",
            "pass",
            f"TCP to {hop} in {tcp_ms} ms; TLS {version} with {ep.host} in {total} ms.",
            data={"tcp_ms": tcp_ms, "tls_ms": total},
            **kw,
        )
    except TimeoutError:
        return Check(
            "network.reach",
            title,
            "critical",
            "fail",
            f"No answer from {hop} within {timeout:.1f}s ({ep.url}).",
            ConnectTimeout.default_remediation,
            data={"timeout_s": timeout},
            **kw,
        )
    except (OSError, ssl.SSLError, ConnectionError) as exc:
        ms = int((time.perf_counter() - started) * 1000)
        return Check(
            "network.reach",
            title,
            "critical",
            "fail",
            f"Cannot connect to {hop} ({ep.url}): {exc} after {ms} ms.",
            EndpointUnreachable.default_remediation,
            data={"error": str(exc)},
            **kw,
        )
