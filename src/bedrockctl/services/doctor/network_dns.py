"""Name-resolution checks of the doctor: ``network.dns`` (does each service host resolve, to private or public
addresses) and ``network.vpce`` (is there an interface VPC endpoint for it, with private DNS on and a policy that
allows the service's invoke action).

DNS goes through the injectable ``Facts.resolver`` (tests answer public addresses while a VPC endpoint exists);
the VPC endpoints are read with one ``ec2:DescribeVpcEndpoints`` call for every service.
"""

from __future__ import annotations

import fnmatch
import ipaddress
import json
from typing import Any

from bedrockctl.aws.errors import error_code
from bedrockctl.services.doctor.model import Check, Facts, Status
from bedrockctl.services.doctor.network import Endpoint, endpoint, services

_VPCE_NAMES = {"sagemaker": "sagemaker.api", "sagemaker-runtime": "sagemaker.runtime"}
_POLICY_ACTION = {"bedrock-runtime": "bedrock:InvokeModel", "bedrock-agent-runtime": "bedrock:InvokeAgent"}


def vpce_service_name(service: str, region: str) -> str:
    return f"com.amazonaws.{region}.{_VPCE_NAMES.get(service, service)}"


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
