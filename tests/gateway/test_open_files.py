"""``bedrockctl serve`` raises its soft open-file limit to the hard one, because every open HTTP/1.1 stream holds two
sockets (client and upstream), and warns when even the hard limit holds fewer than 4,000 open streams."""

from __future__ import annotations

import os
import resource
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from bedrockctl.store import Store
from bedrockctl.store.keys import KeyStore
from ports import spawn_listening

SECRET = "open-files-test-secret"


def _open_files(pid: int) -> tuple[int, int]:
    for line in Path(f"/proc/{pid}/limits").read_text().splitlines():
        if line.startswith("Max open files"):
            soft, hard = line.split()[3:5]
            return int(soft), int(hard)
    raise AssertionError("no 'Max open files' line")


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Callable[[int, int], subprocess.Popen[str]]]:
    db = f"sqlite:///{tmp_path / 'gw.db'}"
    (tmp_path / "bedrockctl.toml").write_text(
        f'[aws]\nregion = "us-east-1"\n[store]\nurl = "{db}"\ndata_dir = "{tmp_path}"\n'
        f'[environments.dev]\n[gateway]\nmaster_secret = "{SECRET}"\nledger = false\n'
    )
    KeyStore(Store(db).engine, SECRET.encode()).create(user="ana", team="ml", environment="dev")
    procs: list[subprocess.Popen[str]] = []

    def start(soft: int, hard: int) -> subprocess.Popen[str]:
        def limits() -> None:  # the child starts with these limits, as under a host's defaults
            resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))

        proc, _ = spawn_listening(
            lambda port: [sys.executable, "-m", "bedrockctl.cli.main", "serve", "--port", str(port)],
            env={**os.environ, "BEDROCKCTL_CONFIG": str(tmp_path / "bedrockctl.toml")},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            preexec_fn=limits,
        )
        procs.append(proc)
        return proc

    yield start
    for proc in procs:
        proc.terminate()
        proc.wait(20)


def _stderr(proc: subprocess.Popen[Any]) -> str:
    proc.terminate()
    proc.wait(20)
    assert proc.stderr is not None
    return str(proc.stderr.read())


@pytest.mark.skipif(not Path("/proc/self/limits").exists(), reason="reads /proc/<pid>/limits (Linux)")
def test_serve_raises_the_soft_limit_to_the_hard_one(serve: Callable[[int, int], subprocess.Popen[str]]) -> None:
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    if hard == resource.RLIM_INFINITY or hard < 8200:
        pytest.skip(f"this host's hard open-file limit ({hard}) is not one the test can compare with")
    proc = serve(512, hard)
    assert _open_files(proc.pid) == (hard, hard)
    assert "open-file limit" not in _stderr(proc)


@pytest.mark.skipif(not Path("/proc/self/limits").exists(), reason="reads /proc/<pid>/limits (Linux)")
def test_serve_warns_when_the_hard_limit_holds_few_streams(serve: Callable[[int, int], subprocess.Popen[str]]) -> None:
    proc = serve(256, 1024)
    assert _open_files(proc.pid) == (1024, 1024)
    err = _stderr(proc)
    assert "open-file limit (1024) holds about 462 open HTTP/1.1 streams" in err, err
    assert "--http 2" in err
