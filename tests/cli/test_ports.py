"""A busy port is one clear error naming the flag to change (BRC-CLI-003, exit 2), found before the command starts
anything, in each command that listens."""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Iterator

import pytest

from bedrockctl.cli.errors import PortUnavailable

from .conftest import Workspace


@pytest.fixture
def busy_port() -> Iterator[int]:
    """A port another socket listens on (127.0.0.1), for the length of the test."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        yield int(taken.getsockname()[1])


CASES = {
    "serve --port": (["serve"], "--port"),
    "serve --http 2 --port": (["serve", "--http", "2"], "--port"),
    "sandbox --port": (["sandbox", "--seed", "empty"], "--port"),
    "demo --port": (["demo", "--no-serve", "--no-browser", "--tls-port", "0"], "--port"),
    "demo --tls-port": (["demo", "--no-serve", "--no-browser", "--port", "0"], "--tls-port"),
    "demo --sandbox-port": (["demo", "--no-serve", "--no-browser", "--port", "0"], "--sandbox-port"),
}
CODES = {"serve": "BRC-CLI-003", "sandbox": "BRC-CLI-003", "demo": "BRC-DEMO-001"}  # the demo binds its own


@pytest.mark.parametrize("case", CASES)
def test_busy_port_names_the_flag(case: str, busy_port: int, workspace: Workspace) -> None:
    args, flag = CASES[case]
    before = dict(os.environ)
    res = workspace.run(*args, flag, str(busy_port), "--output", "json")
    assert res.exit_code == PortUnavailable.exit_code == 2, res.output
    error = json.loads(res.stdout)["error"]
    assert error["code"] == CODES[args[0]], error
    assert f"port {busy_port}" in error["message"] and "is in use" in error["message"]
    assert f"choose another with {flag}" in error["message"] and flag in error["remediation"]
    people = workspace.run(*args, flag, str(busy_port))
    assert f"choose another with {flag}" in people.stderr and "Traceback" not in people.output
    assert dict(os.environ) == before  # refused before serve prepares its workers' environment


def _free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


@pytest.fixture
def busy_after_free() -> Iterator[int]:
    """A port another socket listens on, whose predecessor is free (other processes of the machine use ports)."""
    held: list[socket.socket] = []
    try:
        while True:
            taken = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            held.append(taken)
            taken.bind(("127.0.0.1", 0))
            taken.listen()
            port = int(taken.getsockname()[1])
            if _free(port - 1):
                yield port
                return
    finally:
        for sock in held:
            sock.close()


def test_demo_default_gateway_port_is_checked(busy_after_free: int, workspace: Workspace) -> None:
    """Without --tls-port the gateway listens on --port + 1: a busy one is named as --tls-port."""
    busy_port = busy_after_free
    res = workspace.run("demo", "--no-serve", "--port", str(busy_port - 1), "--output", "json")
    error = json.loads(res.stdout)["error"]
    assert error["code"] == "BRC-DEMO-001" and error["details"]["port"] == busy_port, error
    assert error["details"]["flag"] == "--tls-port"


def test_unknown_address_names_the_host_flag(workspace: Workspace) -> None:
    res = workspace.run("sandbox", "--host", "192.0.2.1", "--port", "4566", "--output", "json")
    error = json.loads(res.stdout)["error"]
    assert error["code"] == "BRC-CLI-003" and "--host" in error["message"], error
