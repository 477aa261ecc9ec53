#!/usr/bin/env python3
"""Refresh src/bedrockctl/catalog/data/models.json from ListFoundationModels / ListInferenceProfiles.

Needs AWS credentials that may call bedrock:ListFoundationModels and bedrock:ListInferenceProfiles in every
region queried (regions you can't reach keep their current facts). ``source`` is kept; ``as_of`` becomes today.
Lifecycle dates come from the API's ``modelLifecycle`` (``legacyTime``, ``publicExtendedAccessTime``,
``endOfLifeTime``); the status itself is never written (it is computed from the dates at run time). Models AWS
stops listing after their end-of-life date are kept, so old ids still get a clear "end of life" answer.

    python scripts/refresh_catalog.py                 # all regions in the catalog + botocore's Bedrock regions
    python scripts/refresh_catalog.py --regions us-east-1 eu-west-1 --dry-run
    AWS_ENDPOINT_URL=http://127.0.0.1:4566 python scripts/refresh_catalog.py --output /tmp/models.json
"""

from __future__ import annotations

import argparse
import json
import sys
from importlib import resources
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

from bedrockctl.catalog.refresh import refresh_document

DEFAULT_PATH = Path(str(resources.files("bedrockctl.catalog").joinpath("data/models.json")))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--regions", nargs="*", help="regions to query (default: catalog + botocore regions)")
    parser.add_argument("--input", type=Path, default=DEFAULT_PATH, help="current catalog document")
    parser.add_argument("--output", type=Path, default=None, help="where to write (default: --input)")
    parser.add_argument("--profile", default=None, help="AWS profile name")
    parser.add_argument("--dry-run", action="store_true", help="print a summary, write nothing")
    args = parser.parse_args(argv)

    current = json.loads(args.input.read_text(encoding="utf-8"))
    session = boto3.Session(profile_name=args.profile)
    regions = args.regions or list(
        dict.fromkeys([r["region"] for r in current["regions"]] + session.get_available_regions("bedrock"))
    )
    config = Config(retries={"mode": "standard", "max_attempts": 5}, connect_timeout=5, read_timeout=20)

    def client_for(region: str) -> Any:
        return session.client("bedrock", region_name=region, config=config)

    result = refresh_document(current, client_for, regions)
    doc = result.document
    print(
        f"{len(doc['models'])} models, {len(doc['inference_profiles'])} system profiles, "
        f"{len(regions) - len(result.skipped)}/{len(regions)} regions queried; "
        f"added {result.added_models or 'none'}; removed {result.removed_models or 'none'}",
        file=sys.stderr,
    )
    for region, err in sorted(result.skipped.items()):
        print(f"  skipped {region}: {err}", file=sys.stderr)
    if result.added_models:
        print(
            "  new models need body_format / context_window / max_output_tokens / replacement by hand", file=sys.stderr
        )
    if args.dry_run:
        return 0
    out = args.output or args.input
    out.write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
