"""Which AWS Regions exist and which offer Amazon Bedrock, read from botocore's bundled endpoint data.

``check_region`` is the one Region rule of bedrockctl: an unknown Region, or one without Amazon Bedrock, is
``UnsupportedRegion`` (``BRC-REG-001``), raised before any network call. Every ``--region`` / ``--regions`` option
and ``SessionFactory.client`` apply it. The data is botocore's ``endpoints.json`` (the partitions, their Regions,
and the Regions each service is listed in), so a new Region arrives with a botocore upgrade.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from bedrockctl.errors import UnsupportedRegion

# The Bedrock services: botocore's endpoint data lists their Regions under "bedrock" (the runtime's endpoints appear
# there as "bedrock-runtime-<region>" entries; every Bedrock Region serves the runtime).
BEDROCK_SERVICES = frozenset({"bedrock", "bedrock-runtime", "bedrock-agent", "bedrock-agent-runtime"})


@dataclass(frozen=True)
class RegionData:
    """Every Region botocore knows (by partition), and those that list the Bedrock service."""

    partitions: dict[str, tuple[str, ...]]
    bedrock: frozenset[str]

    @property
    def known(self) -> frozenset[str]:
        return frozenset(r for regions in self.partitions.values() for r in regions)

    def partition_of(self, region: str) -> str | None:
        return next((p for p, regions in self.partitions.items() if region in regions), None)


@cache
def region_data() -> RegionData:
    """botocore's endpoint data (its ``EndpointResolver``), read once per process (on first use, not at import)."""
    from botocore.loaders import create_loader
    from botocore.regions import EndpointResolver

    endpoints = create_loader().load_data("endpoints")
    resolver = EndpointResolver(endpoints)
    partitions = {p["partition"]: tuple(sorted(p.get("regions", {}))) for p in endpoints["partitions"]}
    bedrock = {r for p in resolver.get_available_partitions() for r in resolver.get_available_endpoints("bedrock", p)}
    return RegionData(partitions=partitions, bedrock=frozenset(bedrock))


def bedrock_regions(partition: str | None = None) -> tuple[str, ...]:
    """The Regions that offer Amazon Bedrock (in ``partition``, or in every partition), sorted."""
    data = region_data()
    return tuple(sorted(r for r in data.bedrock if partition is None or data.partition_of(r) == partition))


def region_problem(region: str, service: str = "bedrock") -> str | None:
    """Why ``region`` cannot be used for ``service`` (None when it can): unknown to botocore, or, for a Bedrock
    service, a Region without Amazon Bedrock."""
    data = region_data()
    if region not in data.known:
        known = len(data.known)
        return f"{region!r} is not an AWS Region (botocore knows {known}; a new Region needs a newer botocore)"
    if service in BEDROCK_SERVICES and region not in data.bedrock:
        return f"Amazon Bedrock is not offered in {region}"
    return None


def nearest_bedrock_region(region: str) -> str:
    """A Bedrock Region of the same partition and area as ``region`` (``ap-east-1`` -> ``ap-northeast-1``)."""
    partition = region_data().partition_of(region) or "aws"
    offered = bedrock_regions(partition) or bedrock_regions("aws")
    area = region.split("-", 1)[0]
    same = [r for r in offered if r.split("-", 1)[0] == area]
    return same[0] if same else ("us-east-1" if "us-east-1" in offered else offered[0])


def check_region(region: str, service: str = "bedrock", *, source: str | None = None) -> str:
    """``region`` when it can be used for ``service``; else ``UnsupportedRegion`` (BRC-REG-001), naming where the
    value came from (``source``: "--region", "env:AWS_REGION", a config file) and a Bedrock Region to use."""
    problem = region_problem(region, service)
    if problem is None:
        return region
    where = f" (from {source})" if source else ""
    alt = nearest_bedrock_region(region)
    raise UnsupportedRegion(
        f"{problem}{where}",
        remediation=f"Use a Region that offers Amazon Bedrock, e.g. --region {alt} (or AWS_REGION={alt}); "
        "`bedrockctl models --all-regions` lists them.",
        details={"region": region, "suggested_region": alt},
    )
