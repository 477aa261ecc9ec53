"""Build the image from the Dockerfile and run it as the manifests do: a read-only root file system, the fixed
non-root user, scratch volumes, the master secret from the environment. It answers ``--version``, becomes ready,
passes its own HEALTHCHECK, serves a Bedrock call to the sandbox, writes nothing outside its volumes and stops
cleanly on SIGTERM.

Needs a container engine that can build and run here (podman, or docker with a daemon) and the base image
(``BEDROCKCTL_TEST_PYTHON_IMAGE``, else the Dockerfile's ``PYTHON_IMAGE`` or the stand-in that
``deploy/scripts/debian-python-image`` makes from Debian's packages) already in its local store: the test never
pulls. Layers stay in the engine's cache between runs. ``BEDROCKCTL_TEST_CONTAINER_ARGS`` replaces the extra flags
every ``run`` gets (lower ulimits; runc under podman where it is installed)."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from .calls import converse
from .layout import ROOT, dockerfile_instructions

pytestmark = pytest.mark.slow
SECRET = "image-test-master-secret"
DEBIAN_BASE = "localhost/debian-python:3.11-bookworm"  # what deploy/scripts/debian-python-image makes


def _run_ok(cmd: list[str]) -> bool:
    return subprocess.run(cmd, capture_output=True, timeout=120).returncode == 0


def _engine() -> str | None:
    for tool in ("podman", "docker"):
        path = shutil.which(tool)
        if path and _run_ok([path, "info"]):
            return path
    return None


def _base_images() -> list[str]:
    """The base images to build on, in order: the override, the Dockerfile's default, the Debian-made stand-in."""
    default = next(a for i, a in dockerfile_instructions() if i == "ARG" and a.startswith("PYTHON_IMAGE="))
    override = os.environ.get("BEDROCKCTL_TEST_PYTHON_IMAGE")
    return [override] if override else [default.split("=", 1)[1], DEBIAN_BASE]


def _run_args(engine: str) -> list[str]:
    if "BEDROCKCTL_TEST_CONTAINER_ARGS" in os.environ:
        return shlex.split(os.environ["BEDROCKCTL_TEST_CONTAINER_ARGS"])
    args = ["--ulimit", "nofile=4096:4096", "--ulimit", "nproc=4096:4096"]  # lowering limits needs no privilege
    if Path(engine).name == "podman" and shutil.which("runc"):
        args += ["--runtime", "runc"]  # crun refuses hosts with hybrid (v1 + v2) cgroups
    return args


def _ca_bundle() -> str | None:
    system = "/etc/ssl/certs/ca-certificates.crt"
    for candidate in (os.environ.get("PIP_CERT"), os.environ.get("SSL_CERT_FILE"), system):
        if candidate and Path(candidate).is_file():
            return candidate
    return None


@pytest.fixture(scope="module")
def image() -> Iterator[tuple[str, str]]:
    engine = _engine()
    if engine is None:
        pytest.skip("no container engine can build here (podman, or docker with a running daemon)")
    local = [b for b in _base_images() if _run_ok([engine, "image", "inspect", b])]
    if not local:
        pytest.skip(
            f"none of the base images {_base_images()} is in the local store (the test never pulls): pull one, or "
            "make one with deploy/scripts/debian-python-image (or name yours in BEDROCKCTL_TEST_PYTHON_IMAGE)"
        )
    base = local[0]
    tag = f"localhost/bedrockctl-test:{uuid.uuid4().hex[:8]}"
    cmd = [engine, "build", "-t", tag, "--build-arg", f"PYTHON_IMAGE={base}", "--network", "host"]
    if Path(engine).name == "podman":
        cmd += ["--format", "docker", "--isolation", "chroot"]  # docker format keeps HEALTHCHECK
    if bundle := _ca_bundle():
        cmd += ["--secret", f"id=pip_cert,src={bundle}"]  # the CA a TLS-intercepting proxy signs with, if any
    started = time.monotonic()
    done = subprocess.run([*cmd, str(ROOT)], capture_output=True, text=True, timeout=1800)
    assert done.returncode == 0, (done.stdout[-4000:], done.stderr[-4000:])
    print(f"image built in {time.monotonic() - started:.0f} s")
    try:
        yield engine, tag
    finally:
        subprocess.run([engine, "rmi", "-f", tag], capture_output=True, timeout=120)


def _inspect(engine: str, ref: str) -> dict[str, Any]:
    """The ``Config`` of an image or a container (podman keeps an image's health check beside it)."""
    out = subprocess.run([engine, "inspect", ref], capture_output=True, text=True, timeout=60, check=True)
    doc = json.loads(out.stdout)[0]
    config: dict[str, Any] = doc["Config"]
    config.setdefault("Healthcheck", doc.get("Healthcheck"))
    return config


def test_the_image_answers_version_as_the_fixed_non_root_user(image: tuple[str, str]) -> None:
    engine, tag = image
    run = [engine, "run", "--rm", *_run_args(engine)]
    done = subprocess.run([*run, tag, "--version"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "bedrockctl 0.1.0"
    who = subprocess.run([*run, "--entrypoint", "id", tag], capture_output=True, text=True, timeout=120)
    assert who.stdout.split()[:2] == ["uid=10001(bedrockctl)", "gid=10001(bedrockctl)"], who.stdout + who.stderr
    config = _inspect(engine, tag)
    assert config["User"] == "10001:10001"
    assert config["Entrypoint"] == ["bedrockctl"] and config["Cmd"][0] == "serve"
    assert "8080/tcp" in config["ExposedPorts"]
    assert set(config["Volumes"]) == {"/var/lib/bedrockctl", "/tmp"}
    assert "BEDROCKCTL_HEALTHCHECK_URL" in " ".join(config["Healthcheck"]["Test"])
    assert "BEDROCKCTL_HEALTHCHECK_URL=http://127.0.0.1:8080/readyz" in config["Env"]
    assert config["Labels"]["org.opencontainers.image.version"] == "0.1.0"


@pytest.fixture
def container(image: tuple[str, str], sandbox_env: Any) -> Iterator[tuple[str, str, str]]:
    engine, tag = image
    with socket.socket() as s:  # a free port on the host network
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    name = f"bedrockctl-test-{uuid.uuid4().hex[:8]}"
    env = {k: v for k, v in os.environ.items() if k.startswith("AWS_")}
    env["BEDROCKCTL_GATEWAY_SECRET"] = SECRET
    env["BEDROCKCTL_HEALTHCHECK_URL"] = f"http://127.0.0.1:{port}/readyz"  # served on another port than 8080
    cmd = [engine, "run", "-d", "--name", name, "--read-only", "--network", "host", *_run_args(engine)]
    for key, value in env.items():
        cmd += ["-e", f"{key}={value}"]
    done = subprocess.run(
        [*cmd, tag, "serve", "--host", "127.0.0.1", "--port", str(port)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    try:
        yield engine, name, f"http://127.0.0.1:{port}"
    finally:
        subprocess.run([engine, "rm", "-f", name], capture_output=True, timeout=120)


def _logs(engine: str, name: str) -> str:
    done = subprocess.run([engine, "logs", name], capture_output=True, text=True, timeout=60)
    return done.stdout + done.stderr


def test_the_container_serves_on_a_read_only_root_and_stops_cleanly(container: tuple[str, str, str]) -> None:
    engine, name, url = container
    deadline = time.monotonic() + 90
    while True:
        try:
            if httpx.get(url + "/readyz", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        assert time.monotonic() < deadline, _logs(engine, name)
        time.sleep(0.5)
    assert httpx.get(url + "/livez").json() == {"status": "ok"}

    # the image's own HEALTHCHECK command, run where the engine would run it
    check = _inspect(engine, name)["Healthcheck"]["Test"]
    assert check[0] == "CMD"
    health = subprocess.run([engine, "exec", name, *check[1:]], capture_output=True, text=True, timeout=60)
    assert health.returncode == 0, health.stderr

    # a key made inside the container (its SQLite store lives on the data volume), then a SigV4 call through it
    made = subprocess.run(
        [engine, "exec", name, "bedrockctl", "keys", "create", "--user", "ana", "--team", "ml", "--json"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert made.returncode == 0, made.stderr
    key = json.loads(made.stdout)
    out = converse(url, key, max_tokens=5)
    assert out["usage"]["outputTokens"] == 5

    # nothing outside the volumes is writable
    for path in ("/opt/bedrockctl/probe", "/etc/probe", "/probe"):
        denied = subprocess.run([engine, "exec", name, "touch", path], capture_output=True, text=True, timeout=60)
        assert denied.returncode != 0 and "Read-only file system" in denied.stderr, (path, denied.stderr)
    for path in ("/var/lib/bedrockctl/probe", "/tmp/probe"):
        allowed = subprocess.run([engine, "exec", name, "touch", path], capture_output=True, text=True, timeout=60)
        assert allowed.returncode == 0, (path, allowed.stderr)

    stopped = subprocess.run([engine, "stop", "-t", "20", name], capture_output=True, text=True, timeout=120)
    assert stopped.returncode == 0, stopped.stderr
    state = subprocess.run(
        [engine, "inspect", name, "--format", "{{.State.ExitCode}}"], capture_output=True, text=True, timeout=60
    )
    assert state.stdout.strip() == "0", _logs(engine, name)  # SIGTERM: uvicorn drains and exits 0
    assert "Traceback" not in _logs(engine, name)
