"""A serving worker (``bedrockctl.server.asgi:app``, what ``bedrockctl serve`` runs) settles its garbage collector
once startup is done: the startup heap frozen out of the collector's scans, young collections every
``GC_YOUNG_THRESHOLD`` allocations. An app built by ``create_app`` alone (tests, embedding) leaves the collector
as it is. Run in a child process: the collector's settings are process-wide."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

CHILD = """
import asyncio, gc, json, sys
from bedrockctl.server import asgi
from bedrockctl.server.app import create_app
from bedrockctl.context import AppContext

async def lifespan(app):
    sent = []
    msgs = iter([{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}])
    async def receive():
        return next(msgs)
    async def send(msg):
        sent.append(msg["type"])
    await app({"type": "lifespan"}, receive, send)
    return sent

before = (gc.get_freeze_count(), gc.get_threshold())
plain = asyncio.run(lifespan(create_app(AppContext.create())))
after_plain = (gc.get_freeze_count(), gc.get_threshold())
served = asyncio.run(lifespan(asgi.app()))
print(json.dumps({"before": before, "plain": after_plain, "served": (gc.get_freeze_count(), gc.get_threshold()),
                  "msgs": plain + served, "young": asgi.GC_YOUNG_THRESHOLD}))
"""


def test_serving_worker_freezes_the_startup_heap(tmp_path: Path) -> None:
    cfg = tmp_path / "bedrockctl.toml"
    cfg.write_text(
        f'[aws]\nregion = "us-east-1"\n[store]\nurl = "sqlite:///{tmp_path / "gw.db"}"\ndata_dir = "{tmp_path}"\n'
        '[environments.dev]\n[gateway]\nmaster_secret = "gc-test-master-secret"\nledger = false\n'
    )
    env = {**os.environ, "BEDROCKCTL_CONFIG": str(cfg), "HOME": str(tmp_path)}
    out = subprocess.run([sys.executable, "-c", CHILD], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got["msgs"] == ["lifespan.startup.complete", "lifespan.shutdown.complete"] * 2
    assert got["before"][0] == 0 and got["plain"] == got["before"]  # create_app alone: collector untouched
    frozen, threshold = got["served"]
    assert frozen > 10_000  # the startup heap (modules, settings, price book)
    assert threshold == [got["young"], *got["before"][1][1:]]
