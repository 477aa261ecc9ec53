"""Region checks: a region is set, Bedrock is offered there (the one Region rule, ``aws.regions``), STS is called
on its regional endpoint."""

from __future__ import annotations

from bedrockctl.aws.regions import nearest_bedrock_region, region_problem
from bedrockctl.catalog import load_catalog
from bedrockctl.errors import RegionNotSet, UnsupportedRegion
from bedrockctl.services.doctor.model import Check, Facts


def region_set_check(facts: Facts) -> Check:
    if not facts.region:
        return Check(
            "region.set",
            "Region configured",
            "critical",
            "fail",
            "No region from --region, AWS_REGION, AWS_DEFAULT_REGION, the profile or the config file.",
            "Pass --region us-east-1 or `export AWS_REGION=us-east-1`. " + RegionNotSet.default_remediation,
        )
    return Check("region.set", "Region configured", "critical", "pass", f"Region {facts.region}.", region=facts.region)


def region_bedrock_check(facts: Facts, region: str | None = None) -> Check:
    region = region or facts.region
    title = "Amazon Bedrock offered in the region"
    if not region:
        return Check("region.bedrock", title, "critical", "skip", "No region set.")
    problem = region_problem(region)
    if problem is not None:
        alt = nearest_bedrock_region(region)
        return Check(
            "region.bedrock",
            title,
            "critical",
            "fail",
            f"{problem} ({UnsupportedRegion.code}).",
            f"Use a Bedrock region, e.g. --region {alt} or `export AWS_REGION={alt}`. "
            + UnsupportedRegion.default_remediation,
            region=region,
            data={"suggested_region": alt},
        )
    info = load_catalog().get_region(region)
    if info is None:
        return Check(
            "region.bedrock",
            title,
            "critical",
            "warn",
            f"Amazon Bedrock is offered in {region}, but the packaged model catalog does not describe it yet.",
            "Run `bedrockctl models --region " + region + "` for the live list of models there.",
            region=region,
        )
    count = len(load_catalog().models_in_region(region))
    return Check(
        "region.bedrock",
        title,
        "critical",
        "pass",
        f"{info.name} ({region}); geography {info.geography or 'global only'}; {count} foundation models.",
        region=region,
        data={"geography": info.geography, "models": count},
    )


def region_sts_check(facts: Facts) -> Check:
    title = "Regional STS endpoint"
    if not facts.credentials_ok:
        return Check("region.sts", title, "low", "skip", "Skipped: no working credentials (see credentials.*).")
    url = str(facts.client("sts").meta.endpoint_url)
    custom = facts.sessions.endpoint_for("sts")
    if custom:
        return Check("region.sts", title, "low", "pass", f"Custom STS endpoint {url}.", region=facts.region)
    if "://sts.amazonaws.com" in url:
        return Check(
            "region.sts",
            title,
            "low",
            "warn",
            f"STS is called on the global endpoint {url}.",
            "`export AWS_STS_REGIONAL_ENDPOINTS=regional` (or sts_regional_endpoints = regional in "
            "~/.aws/config) so STS works from private subnets through its VPC endpoint.",
            region=facts.region,
        )
    return Check("region.sts", title, "low", "pass", f"Regional STS endpoint {url}.", region=facts.region)
