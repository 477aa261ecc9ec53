"""The ``--region`` and ``--regions`` options of every command apply the one Region rule
(``bedrockctl.aws.regions.check_region``) while the command line is parsed: before any network call."""

from __future__ import annotations

from typing import Any


def region_option(ctx: Any, param: Any, value: str | None) -> str | None:
    """Click callback of a ``--region`` option: BRC-REG-001 for an unknown or Bedrock-less Region."""
    if value is None:
        return None
    from bedrockctl.aws.regions import check_region

    return check_region(value, source=param.opts[0])


def regions_option(ctx: Any, param: Any, value: str | None) -> str | None:
    """Click callback of a ``--regions r1,r2|all`` option: each Region named must pass the Region rule."""
    if value is None or value.strip() == "all":
        return value
    from bedrockctl.aws.regions import check_region

    for region in (r.strip() for r in value.split(",")):
        if region:
            check_region(region, source=param.opts[0])
    return value
