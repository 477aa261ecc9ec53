"""Network checks: custom endpoints, DNS (private vs public answers), VPC endpoints, proxies, TCP + TLS reachability.

DNS goes through the injectable ``Facts.resolver`` (tests answer public addresses while a VPC endpoint exists).
Reachability opens a TCP connection and a TLS handshake with a short timeout, through the HTTPS proxy when the
environment routes the host through one (CONNECT tunnel), and never retries.
"""

from __future__ import annotations

import fnmatch
import ipaddress
import json
import socket
import ssl
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any

from bedrockctl.aws.errors import error_code
from bedrockctl.errors import ConnectTimeout, EndpointUnreachable
from bedrockctl.services.doctor.model import Check, Facts, Status

BEDROCK_SERVICES = ("bedrock", "bedrock-runtime", "bedrock-agent", "bedrock-agent-runtime")
SAGEMAKER_SERVICES = ("sagemaker", "sagemaker-runtime")
_HOSTS = {
    "sagemaker": "api.sagemaker.{region}.amazonaws.com",
    "sagemaker-runtime": "runtime.sagemaker.{region}.amazonaws.com",
}
_VPCE_NAMES = {"sagemaker": "sagemaker.api", "sagemaker-runtime": "sagemaker.runtime"}
_POLICY_ACTION = {"bedrock-runtime": "bedrock:InvokeModel", "bedrock-agent-runtime": "bedrock:InvokeAgent"}


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


def vpce_service_name(service: str, region: str) -> str:
    return f"com.amazonaws.{region}.{_VPCE_NAMES.get(service, service)}"


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


def is_private(addr: str) -> bool:
    try:
        ip = ipaddress.ip_address(addr)
    except ValueError:
        return False
    return ip.is_private or ip.is_loopback or ip.is_link_local


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        return False


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


def _describe_vpce(facts: Facts) -> tuple[list[dict[str, Any]] | None, str]:
    try:
        resp = facts.client("ec2").describe_vpc_endpoints(
            Filters=[{"Name": "vpc-endpoint-type", "Values": ["Interface"]}]
        )
        return list(resp.get("VpcEndpoints", [])), ""
    except Exception as exc:
        code = error_code(exc) or type(exc).__name__
        return None, f"ec2:DescribeVpcEndpoints failed ({code}); judged on DNS answers only"


def _resolve(facts: Facts, host: str) -> tuple[list[str], str | None]:
    try:
        return list(facts.resolver(host)), None
    except Exception as exc:
        return [], f"{type(exc).__name__}: {exc}"


def dns_checks(facts: Facts) -> list[Check]:
    """``network.dns`` and ``network.vpce`` for each service (one DescribeVpcEndpoints call for all)."""
    region = facts.region or "us-east-1"
    vpces, vpce_note = _describe_vpce(facts) if facts.credentials_ok else (None, "no credentials")
    out: list[Check] = []
    for service in services(facts):
        ep = endpoint(facts, service)
        out.append(_dns_check(facts, ep))
        out.append(_vpce_check(facts, ep, region, vpces, vpce_note))
    return out


def _dns_check(facts: Facts, ep: Endpoint) -> Check:
    kw: dict[str, Any] = {"target": ep.service, "region": facts.region}
    title = "DNS resolution"
    if _is_ip(ep.host):
        return Check(
            "network.dns", title, "high", "pass", f"{ep.host} is an IP address (custom endpoint {ep.url}).", **kw
        )
    answers, error = _resolve(facts, ep.host)
    if error or not answers:
        return Check(
            "network.dns",
            title,
            "high",
            "fail",
            f"{ep.host} does not resolve: {error or 'no answers'}",
            "Check the resolver (/etc/resolv.conf); in a VPC enable enableDnsSupport and use the "
            "AmazonProvidedDNS resolver, or create the interface endpoint "
            f"{vpce_service_name(ep.service, facts.region or 'us-east-1')} with private DNS.",
            **kw,
        )
    kind = "private" if all(is_private(a) for a in answers) else "public"
    return Check(
        "network.dns",
        title,
        "high",
        "pass",
        f"{ep.host} -> {', '.join(answers)} ({kind})",
        data={"answers": answers, "kind": kind},
        **kw,
    )


def _vpce_check(facts: Facts, ep: Endpoint, region: str, vpces: list[dict[str, Any]] | None, note: str) -> Check:
    kw: dict[str, Any] = {"target": ep.service, "region": facts.region}
    title = "VPC interface endpoint and private DNS"
    name = vpce_service_name(ep.service, region)
    mine = [v for v in vpces or [] if v.get("ServiceName") == name]
    if vpces is not None and not mine:
        return Check(
            "network.vpce",
            title,
            "medium",
            "pass",
            f"No interface endpoint for {name}: requests use the public endpoint.",
            **kw,
        )
    answers, error = _resolve(facts, ep.aws_host)
    private = bool(answers) and all(is_private(a) for a in answers)
    ids = ", ".join(str(v.get("VpcEndpointId")) for v in mine)
    data = {"service_name": name, "endpoints": [v.get("VpcEndpointId") for v in mine], "answers": answers}
    if vpces is None:
        status: Status = "pass" if private else "skip"
        what = "private answers: a VPC endpoint with private DNS" if private else "cannot tell"
        return Check(
            "network.vpce",
            title,
            "medium",
            status,
            f"{note}; {ep.aws_host} -> {answers or error} ({what}).",
            data=data,
            **kw,
        )
    if error or not answers:
        return Check(
            "network.vpce",
            title,
            "high",
            "warn",
            f"Endpoint {ids} exists but {ep.aws_host} does not resolve ({error or 'no answers'}).",
            "Check the VPC's DNS settings (enableDnsSupport).",
            data=data,
            **kw,
        )
    if not private:
        dns_off = [v for v in mine if not v.get("PrivateDnsEnabled")]
        if dns_off:
            vid = dns_off[0].get("VpcEndpointId")
            return Check(
                "network.vpce",
                title,
                "critical",
                "fail",
                f"VPC endpoint {vid} for {name} exists but private DNS is off: {ep.aws_host} resolves to public "
                f"addresses {', '.join(answers)}, so requests from private subnets go to the internet and time out.",
                f"aws ec2 modify-vpc-endpoint --vpc-endpoint-id {vid} --private-dns-enabled --region {region} "
                "(or point AWS_ENDPOINT_URL_" + ep.service.upper().replace("-", "_") + " at the endpoint's DNS name)",
                data=data,
                **kw,
            )
        return Check(
            "network.vpce",
            title,
            "high",
            "fail",
            f"VPC endpoint {ids} has private DNS on, yet {ep.aws_host} resolves to public addresses "
            f"{', '.join(answers)}: this host does not use the VPC's resolver.",
            "Use the VPC's AmazonProvidedDNS resolver (check /etc/resolv.conf and DHCP options) and enable "
            "enableDnsSupport and enableDnsHostnames on the VPC (aws ec2 modify-vpc-attribute).",
            data=data,
            **kw,
        )
    denied = _policy_denies(mine, ep.service)
    if denied:
        return Check(
            "network.vpce",
            title,
            "high",
            "fail",
            f"The policy of endpoint {denied} does not allow {_POLICY_ACTION[ep.service]}.",
            f"aws ec2 modify-vpc-endpoint --vpc-endpoint-id {denied} --policy-document file://policy.json "
            f"(allow {_POLICY_ACTION[ep.service]})",
            data=data,
            **kw,
        )
    return Check(
        "network.vpce",
        title,
        "medium",
        "pass",
        f"{ep.aws_host} -> {', '.join(answers)} (private) through endpoint {ids or '(not visible)'}.",
        data=data,
        **kw,
    )


def _policy_denies(endpoints: list[dict[str, Any]], service: str) -> str | None:
    """The id of an endpoint whose policy does not allow the service's invoke action (simple match)."""
    action = _POLICY_ACTION.get(service)
    if not action:
        return None
    for vpce in endpoints:
        raw = vpce.get("PolicyDocument")
        if not raw:
            continue
        try:
            doc = json.loads(raw) if isinstance(raw, str) else raw
        except ValueError:
            continue
        allowed = denied = False
        for stmt in doc.get("Statement", []) if isinstance(doc, dict) else []:
            acts = stmt.get("Action", [])
            acts = [acts] if isinstance(acts, str) else acts
            if any(fnmatch.fnmatch(action.lower(), str(a).lower()) for a in acts):
                if stmt.get("Effect") == "Deny" and not stmt.get("Condition"):
                    denied = True
                elif stmt.get("Effect") == "Allow":
                    allowed = True
        if denied or not allowed:
            return str(vpce.get("VpcEndpointId"))
    return None


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
