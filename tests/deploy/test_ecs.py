"""The ECS task definition is a valid ``RegisterTaskDefinition`` request (botocore's model, enums included, and a
round trip through the sandbox's ECS) and keeps the same invariants as the Kubernetes manifests."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import botocore.session
from botocore.validate import ParamValidator

from .layout import dockerfile_instructions, ecs_task, exec_form

# Fargate's CPU units -> the memory sizes (MiB) it accepts (AWS ECS developer guide, "Task CPU and memory")
_GIB = 1024
FARGATE_SIZES = {
    256: {512, 1024, 2048},
    512: set(range(1 * _GIB, 4 * _GIB + 1, _GIB)),
    1024: set(range(2 * _GIB, 8 * _GIB + 1, _GIB)),
    2048: set(range(4 * _GIB, 16 * _GIB + 1, _GIB)),
    4096: set(range(8 * _GIB, 30 * _GIB + 1, _GIB)),
    8192: set(range(16 * _GIB, 60 * _GIB + 1, 4 * _GIB)),
    16384: set(range(32 * _GIB, 120 * _GIB + 1, 8 * _GIB)),
}


def _input_shape() -> Any:
    model = botocore.session.get_session().get_service_model("ecs")
    return model.operation_model("RegisterTaskDefinition").input_shape


def _enum_errors(shape: Any, value: Any, where: str = "") -> list[str]:
    """botocore's ParamValidator checks names and types; this adds the enums it leaves out."""
    errors = []
    if shape.type_name == "structure" and isinstance(value, dict):
        for key, item in value.items():
            if key in shape.members:
                errors += _enum_errors(shape.members[key], item, f"{where}.{key}")
    elif shape.type_name == "list" and isinstance(value, list):
        for i, item in enumerate(value):
            errors += _enum_errors(shape.member, item, f"{where}[{i}]")
    elif shape.type_name == "map" and isinstance(value, dict):
        for key, item in value.items():
            errors += _enum_errors(shape.value, item, f"{where}[{key}]")
    elif shape.type_name == "string" and shape.enum and value not in shape.enum:
        errors.append(f"{where}: {value!r} is not one of {shape.enum}")
    return errors


def _container() -> dict[str, Any]:
    containers = ecs_task()["containerDefinitions"]
    assert len(containers) == 1
    c: dict[str, Any] = containers[0]
    return c


def test_the_task_definition_matches_botocores_register_task_definition_model() -> None:
    report = ParamValidator().validate(ecs_task(), _input_shape())
    assert not report.has_errors(), report.generate_report()
    assert _enum_errors(_input_shape(), ecs_task()) == []


def test_the_model_check_catches_a_broken_task_definition() -> None:
    task = ecs_task()
    task["containerDefinitions"][0]["readOnlyRootFilesystem"] = True  # the real field is readonlyRootFilesystem
    assert ParamValidator().validate(task, _input_shape()).has_errors()
    task = ecs_task()
    task["networkMode"] = "vpc"
    assert _enum_errors(_input_shape(), task) == [
        ".networkMode: 'vpc' is not one of ['bridge', 'host', 'awsvpc', 'none']"
    ]


def test_the_sandbox_registers_it_and_reads_it_back(boto_client: Callable[..., Any]) -> None:
    ecs = boto_client("ecs")
    registered = ecs.register_task_definition(**ecs_task())["taskDefinition"]
    described = ecs.describe_task_definition(taskDefinition=registered["taskDefinitionArn"])["taskDefinition"]
    assert described["family"] == "bedrockctl" and described["revision"] == 1
    assert described["requiresCompatibilities"] == ["FARGATE"]
    container = described["containerDefinitions"][0]
    assert container["readonlyRootFilesystem"] is True
    assert container["user"] == _container()["user"]
    assert container["secrets"] == _container()["secrets"]
    assert container["healthCheck"]["command"] == _container()["healthCheck"]["command"]


def test_fargate_accepts_the_size() -> None:
    task = ecs_task()
    assert task["requiresCompatibilities"] == ["FARGATE"] and task["networkMode"] == "awsvpc"
    assert int(task["memory"]) in FARGATE_SIZES[int(task["cpu"])]


def test_non_root_read_only_root_and_no_capabilities() -> None:
    c = _container()
    assert c["user"] == dict(dockerfile_instructions("runtime"))["USER"]
    assert not c["user"].startswith("0") and c["user"].split(":")[0] != "root"
    assert c["readonlyRootFilesystem"] is True
    assert c["linuxParameters"]["capabilities"] == {"drop": ["ALL"]}
    assert not c.get("privileged", False)
    env = {e["name"]: e["value"] for e in c["environment"]}
    volumes = {m["containerPath"]: m["sourceVolume"] for m in c["mountPoints"] if not m.get("readOnly")}
    task_volumes = {v["name"]: v for v in ecs_task()["volumes"]}
    image_volumes = {v for ins, args in dockerfile_instructions("runtime") if ins == "VOLUME" for v in exec_form(args)}
    for var in ("BEDROCKCTL_DATA_DIR", "TMPDIR"):
        assert env[var] in volumes and volumes[env[var]] in task_volumes
        # Fargate copies a VOLUME directory of the image (owner and mode included) into the bind mount only
        # when the paths are equal: that is what makes the data directory writable by the non-root user
        assert env[var] in image_volumes


def test_secrets_come_from_secrets_manager_or_ssm_by_arn() -> None:
    c = _container()
    arn = re.compile(r"arn:aws[\w-]*:(secretsmanager:[\w-]+:\d{12}:secret:.+|ssm:[\w-]+:\d{12}:parameter/.+)")
    secrets = {s["name"]: s["valueFrom"] for s in c["secrets"]}
    assert set(secrets) == {"BEDROCKCTL_STORE_URL", "BEDROCKCTL_GATEWAY_SECRET"}
    assert all(arn.fullmatch(v) for v in secrets.values()), secrets
    assert not any(re.search(r"SECRET|PASSWORD|TOKEN|STORE_URL|KEY", e["name"]) for e in c["environment"])
    assert not any("://" in e["value"] for e in c["environment"])


def test_logs_health_check_and_pinned_image() -> None:
    c = _container()
    assert c["logConfiguration"]["logDriver"] == "awslogs"
    assert {"awslogs-group", "awslogs-region", "awslogs-stream-prefix"} <= set(c["logConfiguration"]["options"])
    docker_check = dict(dockerfile_instructions("runtime"))["HEALTHCHECK"]
    assert c["healthCheck"]["command"] == ["CMD", *exec_form(docker_check.split(" CMD ", 1)[1])]
    assert "BEDROCKCTL_HEALTHCHECK_URL" not in {e["name"] for e in c["environment"]}  # the image's: port 8080
    assert re.fullmatch(r"[\w./-]+:[\w.-]+", c["image"]) and not c["image"].endswith(":latest")
    assert c["command"][0] == "serve" and c["command"][c["command"].index("--host") + 1] == "0.0.0.0"
    port = int(c["command"][c["command"].index("--port") + 1])
    assert [p["containerPort"] for p in c["portMappings"]] == [port]
    assert c["linuxParameters"]["initProcessEnabled"] is True  # an init reaps the worker processes
