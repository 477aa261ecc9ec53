"""docs/cli.md's exit-code table says where every error of the tree exits (a new error code must be placed)."""

from __future__ import annotations

import re
from pathlib import Path

from bedrockctl.errors import all_error_classes

DOC = Path(__file__).resolve().parents[2] / "docs" / "cli.md"


def test_exit_code_table_covers_the_error_tree() -> None:
    rows: dict[int, list[str]] = {}
    for line in DOC.read_text().splitlines():
        m = re.match(r"^\| (\d+) \| [^|]+ \| (.+) \|$", line)
        if m:
            rows[int(m.group(1))] = re.findall(r"`(BRC-[A-Z]+-(?:\d+|\*))`", m.group(2))
    assert 0 in rows and 130 in rows
    for cls in all_error_classes():
        listed = rows.get(cls.exit_code, [])
        family = cls.code.rsplit("-", 1)[0] + "-*"
        assert cls.code in listed or family in listed, f"{cls.code} (exit {cls.exit_code}) is not in docs/cli.md"
        for other, codes in rows.items():
            if other != cls.exit_code:
                assert cls.code not in codes, f"{cls.code} is listed under exit {other}, it exits {cls.exit_code}"
