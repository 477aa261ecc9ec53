"""The deployment files as data: Kubernetes documents, the ECS task definition, the Dockerfile's instructions."""

from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
KUBERNETES = ROOT / "deploy" / "kubernetes"
ECS_TASK = ROOT / "deploy" / "ecs" / "task-definition.json"
DOCKERFILE = ROOT / "Dockerfile"


def kustomization() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((KUBERNETES / "kustomization.yaml").read_text())
    return data


def k8s_documents() -> list[tuple[str, dict[str, Any]]]:
    """Every object of every manifest the kustomization lists, with its file name."""
    out = []
    for name in kustomization()["resources"]:
        for doc in yaml.safe_load_all((KUBERNETES / name).read_text()):
            if doc:
                out.append((name, doc))
    return out


def k8s_object(kind: str) -> dict[str, Any]:
    found = [doc for _, doc in k8s_documents() if doc["kind"] == kind]
    assert len(found) == 1, f"expected one {kind}, found {len(found)}"
    return found[0]


def ecs_task() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(ECS_TASK.read_text())
    return data


def dockerfile_instructions(stage: str | None = None) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped; ``stage``: only that stage."""
    logical, current = [], ""
    for line in DOCKERFILE.read_text().splitlines():
        if not current and (not line.strip() or line.lstrip().startswith("#")):
            continue
        current += line.rstrip()
        if current.endswith("\\"):
            current = current[:-1] + " "
            continue
        logical.append(current.strip())
        current = ""
    pairs = [(text.split(None, 1)[0].upper(), text.split(None, 1)[1] if " " in text else "") for text in logical]
    if stage is None:
        return pairs
    out: list[tuple[str, str]] = []
    inside = False
    for instruction, args in pairs:
        if instruction == "FROM":
            inside = args.split()[-1] == stage
        if inside:
            out.append((instruction, args))
    return out


def exec_form(args: str) -> list[str]:
    """The JSON array of an exec-form instruction (``CMD [...]``), else the shell words."""
    return list(json.loads(args)) if args.lstrip().startswith("[") else shlex.split(args)
