"""``python -m bedrockctl.samples DIR``: write the sample records into DIR, dated to the last few days."""

from __future__ import annotations

import argparse
from pathlib import Path

from bedrockctl.samples import write_samples


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bedrockctl.samples",
        description="Write real-format Bedrock invocation logs and CloudTrail events, re-dated to the last days.",
        epilog="Example: python -m bedrockctl.samples ./samples && "
        "bedrockctl usage ingest --invocation-logs ./samples/invocation-logs.json.gz",
    )
    parser.add_argument("dir", type=Path, help="folder to write (created if missing)")
    args = parser.parse_args(argv)
    written = write_samples(args.dir)
    for path in (written.invocation_logs, written.invocation_logs_gz, written.trail_file, written.lookup_events):
        print(path)
    print(f"records dated {written.first_day.isoformat()} and {written.day('2026-11-21')} (UTC)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
