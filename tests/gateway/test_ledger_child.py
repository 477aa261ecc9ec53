"""The ledger's child process (one per batch) starts light: neither SQLAlchemy nor the gateway's modules load in
it, only the record and the analytics store (what it costs per batch: docs/gateway.md, bench/RESULTS.md)."""

from __future__ import annotations

import json
import subprocess
import sys

CHILD = """
import json, sys
from bedrockctl.services.gateway_ledger import ledger_child, write_ledger
import bedrockctl.analytics.records, bedrockctl.analytics.store
print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in ("sqlalchemy", "alembic")
                        or m.startswith("bedrockctl.server"))))
"""


def test_the_ledger_child_imports_no_database_layer_nor_the_gateway() -> None:
    out = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True, timeout=120, check=True)
    assert json.loads(out.stdout) == []
