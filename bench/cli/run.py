"""Benchmark: how long `bedrockctl --version` and `bedrockctl --help` take, before and after, side by side.

"before" is the source of a base commit (default: where this branch left `main`), unpacked with `git archive` into
a temporary directory; "after" is this checkout's `src/`. Both run with the same interpreter and packages (this
venv), each through the console script's entry point (``from bedrockctl.cli.main import main``) with its own
``src`` first on ``PYTHONPATH``, from an empty working directory. The two arms alternate (A B A B ...) so that a
machine that speeds up or slows down during the run moves both alike; every figure is whole-process: wall time from
start to exit, and CPU (user + system) of the child from the operating system's accounting.

    .venv/bin/python bench/cli/run.py [--base REV] [--runs 30] [--warmup 3] [--write]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from datetime import UTC, datetime
from io import BytesIO
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ENTRY = "import sys\nfrom bedrockctl.cli.main import main\nsys.exit(main())\n"
COMMANDS = (["--version"], ["--help"])
GOAL_MS = 120  # median wall time of `bedrockctl --version`


def base_source(rev: str, into: Path) -> Path:
    """The ``src/`` tree of ``rev`` unpacked under ``into`` (no worktree is registered, nothing is checked out)."""
    blob = subprocess.run(["git", "-C", str(ROOT), "archive", rev, "src"], capture_output=True, check=True).stdout
    with tarfile.open(fileobj=BytesIO(blob)) as tar:
        tar.extractall(into, filter="data")
    return into / "src"


def run_once(src: Path, args: list[str], cwd: Path) -> tuple[float, float]:
    """Wall and CPU seconds of one whole ``bedrockctl ARGS`` process."""
    env = {**os.environ, "PYTHONPATH": str(src), "COLUMNS": "80"}
    start = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-c", ENTRY, *args], cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    assert proc.stderr is not None
    err = proc.stderr.read().decode()
    proc.stderr.close()
    if proc.returncode != 0:
        raise SystemExit(f"bedrockctl {' '.join(args)} exited {proc.returncode}: {err}")
    return wall, usage.ru_utime + usage.ru_stime


def which_package(src: Path, cwd: Path) -> str:
    env = {**os.environ, "PYTHONPATH": str(src)}
    code = "import bedrockctl.cli.main as m; print(m.__file__)"
    return subprocess.run([sys.executable, "-c", code], cwd=cwd, env=env, capture_output=True, text=True).stdout.strip()


def fmt(values: list[float]) -> str:
    ms = sorted(v * 1000 for v in values)
    return f"{statistics.median(ms):.0f} [{ms[0]:.0f}-{ms[-1]:.0f}]"


def measure(arms: dict[str, Path], runs: int, warmup: int, cwd: Path) -> dict[tuple[str, str], dict[str, list[float]]]:
    results: dict[tuple[str, str], dict[str, list[float]]] = {}
    for args in COMMANDS:
        label = " ".join(args)
        for _ in range(warmup):
            for src in arms.values():
                run_once(src, args, cwd)
        for _ in range(runs):
            for arm, src in arms.items():  # alternate: before, after, before, after ...
                wall, cpu = run_once(src, args, cwd)
                cell = results.setdefault((label, arm), {"wall": [], "cpu": []})
                cell["wall"].append(wall)
                cell["cpu"].append(cpu)
    return results


def report(results: dict[tuple[str, str], dict[str, list[float]]], base: str, runs: int) -> str:
    load = os.getloadavg()
    lines = [
        f"`.venv/bin/python bench/cli/run.py --base {base} --runs {runs} --write` on {platform.machine()}, "
        f"{os.cpu_count()} cores, "
        f"Python {platform.python_version()}, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; load average "
        f"{load[0]:.1f} {load[1]:.1f} {load[2]:.1f} at the end. before = `{base}` (`git archive`), after = this "
        "checkout; same interpreter and packages, alternating runs, whole process (console-script entry point).",
        "",
        "| command | before wall ms, median [min-max] | after wall ms | before CPU ms | after CPU ms "
        "| after/before (median wall) |",
        "|---|---|---|---|---|---|",
    ]
    for args in COMMANDS:
        label = " ".join(args)
        b, a = results[(label, "before")], results[(label, "after")]
        ratio = statistics.median(a["wall"]) / statistics.median(b["wall"])
        lines.append(
            f"| `bedrockctl {label}` | {fmt(b['wall'])} | {fmt(a['wall'])} | {fmt(b['cpu'])} | {fmt(a['cpu'])} "
            f"| {ratio:.2f} |"
        )
    version = statistics.median(results[("--version", "after")]["wall"]) * 1000
    lines += [
        "",
        f"Goal: `bedrockctl --version` <= {GOAL_MS} ms median: {'met' if version <= GOAL_MS else 'NOT met'} "
        f"({version:.0f} ms).",
    ]
    return "\n".join(lines) + "\n"


def write_results(text: str) -> None:
    """Replace the ``## cli`` section of bench/RESULTS.md (or add it)."""
    path = ROOT / "bench" / "RESULTS.md"
    doc = path.read_text()
    section = "## cli\n\n" + text
    start = doc.find("## cli\n")
    if start == -1:
        doc = doc.rstrip("\n") + "\n\n" + section
    else:
        end = doc.find("\n## ", start + 1)
        notes = doc.find("<!-- notes -->", start)
        keep = doc[notes : end if end != -1 else len(doc)] if notes != -1 and (end == -1 or notes < end) else ""
        tail = doc[end:] if end != -1 else ""
        doc = doc[:start] + section + ("\n" + keep.rstrip("\n") + "\n" if keep else "") + tail
    path.write_text(doc)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    default_base = subprocess.run(
        ["git", "-C", str(ROOT), "merge-base", "HEAD", "main"], capture_output=True, text=True, check=True
    ).stdout.strip()
    parser.add_argument("--base", default=default_base, help="the 'before' commit (default: merge-base with main)")
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--write", action="store_true", help="write the figures into bench/RESULTS.md")
    opts = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-cli-") as tmp:
        cwd = Path(tmp) / "cwd"
        cwd.mkdir()
        arms = {"before": base_source(opts.base, Path(tmp) / "base"), "after": ROOT / "src"}
        for arm, src in arms.items():
            found = which_package(src, cwd)
            assert found.startswith(str(src)), f"{arm} imports {found}, not {src}"
        results = measure(arms, opts.runs, opts.warmup, cwd)
    text = report(results, opts.base[:12], opts.runs)
    sys.stdout.write(text)
    if opts.write:
        write_results(text)


if __name__ == "__main__":
    main()
