"""The gateway section of bench/RESULTS.md from the results of ``run.py`` (one table, ratios to the direct arm)."""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent.parent


def report(args: argparse.Namespace, arms: list[Any], load: str, cmd: str) -> str:
    direct = arms[0].results
    cc = 16 if 16 in args.concurrency else args.concurrency[-1]
    out = [
        "## gateway",
        "",
        f"`{cmd}` on x86_64, {os.cpu_count()} cores, Python {sys.version.split()[0]}, "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}. Servers pinned to CPU {args.server_cpu}; wrk "
        f"(-t1, fixed {args.requests} requests per cell, {args.repeat} interleaved repetitions, median shown), "
        f"the stream driver and the fake upstream on CPU "
        f"{args.load_cpu}. `uptime` at the start: `{load}`. Shared machine (other helpers' jobs were running).",
        "",
        f"| arm | CPU µs/req (c={cc}) | x bedrockctl-oai | "
        + "".join(f"c={c} p50 / p99 ms | added p50 c={c} | " for c in args.concurrency)
        + "added TTFT p50 ms | MB / 1,000 open streams |",
        "|---" * (5 + 2 * len(args.concurrency)) + "|",
    ]
    ref = arms[[a.name for a in arms].index("bedrockctl-oai")].results[f"c{cc}"]["cpu_us"]
    for arm in arms:
        r = arm.results
        cells = [arm.name]
        cells.append("-" if arm.pid is None else f"{r[f'c{cc}']['cpu_us']:.0f}")
        cells.append("-" if arm.pid is None else f"{r[f'c{cc}']['cpu_us'] / ref:.2f}")
        for conc in args.concurrency:
            c = r[f"c{conc}"]
            bad = f" ({c['non2xx']} non-2xx)" if c["non2xx"] else ""
            cells.append(f"{c['p50_ms']:.3f} / {c['p99_ms']:.3f}{bad}")
            cells.append("-" if arm is arms[0] else f"{c['p50_ms'] - direct[f'c{conc}']['p50_ms']:+.3f}")
        cells.append("-" if arm is arms[0] else f"{r['ttft']['p50'] - direct['ttft']['p50']:+.3f}")
        mem = r.get("mem")
        pend = f", {mem['pending']} of them before any byte" if mem and mem["pending"] else ""
        cells.append(f"{mem['mb_per_1000']:.1f} ({mem['open']} open{pend})" if mem else "-")
        out.append("| " + " | ".join(cells) + " |")
    out.append("")
    out.append(
        f"CPU µs per request, median [min-max of the {args.repeat} repetitions], at "
        + ", ".join(f"c={c}" for c in args.concurrency)
        + ": "
        + "; ".join(
            f"{a.name} "
            + ", ".join(
                f"{a.results[f'c{c}']['cpu_us']:.0f} [{a.results[f'c{c}']['cpu_range'][0]:.0f}-"
                f"{a.results[f'c{c}']['cpu_range'][1]:.0f}]"
                for c in args.concurrency
            )
            for a in arms
            if a.pid is not None
        )
        + "."
    )
    out.append("Direct TTFT p50 (absolute): " + f"{direct['ttft']['p50']:.3f} ms.")
    return "\n".join(out) + "\n"


def write_section(text: str) -> None:
    path = ROOT / "bench" / "RESULTS.md"
    doc = path.read_text()
    start = doc.find("## gateway")
    end = doc.find("\n## ", start + 1) if start >= 0 else -1
    notes = ""
    if start >= 0:
        old = doc[start : end if end >= 0 else len(doc)]
        marker = "<!-- notes -->"
        if marker in old:
            notes = "\n" + old[old.index(marker) :].rstrip() + "\n"
        doc = doc[:start] + text + notes + (doc[end:] if end >= 0 else "")
    else:
        doc = doc.rstrip() + "\n\n" + text
    path.write_text(doc)
