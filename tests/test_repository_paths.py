"""No tracked file names a path outside the repository: a clone anywhere else must run, test and read the same.

Absolute paths into home or project folders (``/work``, ``/home``, ``/root``, ``/Users``, ``/mnt``, ``/opt``, ``/srv``,
``/media``, ``/shared``, ``/workspace``) are refused anywhere; system paths a program may really use
(``/usr/bin/chromium``, ``/etc/ssl``, ``/tmp``, ``/dev/null``, ``/proc``) are fine, and so are URL paths. A relative
path that climbs out of the repository from the file that names it (``../shared/samples`` in ``docs/``) is refused.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SCANNED = ("src", "tests", "scripts", ".ci", "docs", "bench", "README.md", "CONTRIBUTING.md", "pyproject.toml")
OUTSIDE_ROOTS = ("work", "home", "root", "Users", "mnt", "opt", "srv", "media", "shared", "workspace")
# an absolute path starts a token: not after a word character, a dot, a slash, a tilde or "<" (closing HTML tags)
ABSOLUTE = re.compile(r"(?<![\w.~/<:-])/(?:" + "|".join(OUTSIDE_ROOTS) + r")(?:/[\w.@{}$-]*)+")
CLIMB = re.compile(r"(?<![\w./-])((?:\.\./)+[\w.@{}$-]*(?:/[\w.@{}$-]+)*)")
SIBLINGS = ("../shared",)  # folders beside a checkout that a clone elsewhere does not have
# paths inside the container image the Dockerfile builds (not the host's): its install prefix
IMAGE_PATHS = ("/opt/bedrockctl",)


def tracked_files() -> list[Path]:
    if (REPO / ".git").exists():
        out = subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard", "--", *SCANNED],
            cwd=REPO,
            capture_output=True,
            check=True,
        ).stdout.decode()
        return [REPO / name for name in out.split("\0") if name]
    found = []
    for top in SCANNED:
        root = REPO / top
        if root.is_file():
            found.append(root)
            continue
        for folder, dirs, names in os.walk(root):
            dirs[:] = [d for d in dirs if d not in ("__pycache__", ".venv", "venv", "node_modules")]
            found += [Path(folder) / n for n in names]
    return found


def offences(path: Path, text: str) -> list[str]:
    found = []
    for lineno, line in enumerate(text.splitlines(), 1):
        for m in ABSOLUTE.finditer(line):
            if m.group(0).startswith(IMAGE_PATHS):
                continue
            found.append(f"{path.relative_to(REPO)}:{lineno}: {m.group(0)}")
        for m in CLIMB.finditer(line):
            target = Path(os.path.normpath(path.parent / m.group(1)))
            if not (target == REPO or REPO in target.parents) or m.group(1).startswith(SIBLINGS):
                found.append(f"{path.relative_to(REPO)}:{lineno}: {m.group(1)}")
    return found


def test_no_tracked_file_names_a_path_outside_the_repository() -> None:
    files = tracked_files()
    assert any(p.name == "usage.md" for p in files)  # the scan really sees the docs
    found = []
    for path in files:
        if path == Path(__file__).resolve():
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, FileNotFoundError):
            continue  # binary files (screenshots, gzipped fixtures); deleted but still tracked
        found += offences(path, text)
    assert found == [], "paths outside the repository:\n" + "\n".join(found)


def test_the_scan_catches_what_it_is_for() -> None:
    doc = REPO / "docs" / "example.md"
    bad = "cp /work/shared/samples/x .\nsee `../shared/samples`\nPath('/home/me/data.json')\n[up](../../elsewhere.md)\n"
    assert [o.split(": ", 1)[1] for o in offences(doc, bad)] == [
        "/work/shared/samples/x",
        "../shared/samples",
        "/home/me/data.json",
        "../../elsewhere.md",
    ]
    fine = (
        'CHROMIUM = "/usr/bin/chromium"\ncafile=/etc/ssl/certs/ca.pem >/dev/null /tmp/x\n'
        "GET /v1/chat/completions and /users/alice\n</option>\n[readme](../README.md) ~/.config/bedrockctl\n"
        "https://example.com/home/page\n"
    )
    assert offences(doc, fine) == []
