"""The Kubernetes manifests validate against the Kubernetes schemas (strict: unknown fields fail) and keep the
invariants a scale-out deployment rests on: several non-root replicas with a read-only root file system, probes on
the gateway's health routes, secrets referenced (never inline), a pinned image, selectors that match."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from bedrockctl.config import load_settings
from bedrockctl.server.gateway.options import GatewayOptions

from .layout import KUBERNETES, dockerfile_instructions, k8s_documents, k8s_object, kustomization

# the oldest Kubernetes release still in (extended) support on the big clouds, and the newest the schemas know
VERSIONS = ["1.29.0", kubernetes_validate.latest_version()]
SECRET_NAMES = re.compile(r"SECRET|PASSWORD|TOKEN|STORE_URL|ACCESS_KEY|API_KEY", re.IGNORECASE)


def _container() -> dict[str, Any]:
    containers = k8s_object("Deployment")["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1
    c: dict[str, Any] = containers[0]
    return c


def _env(container: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {e["name"]: e for e in container.get("env", [])}


@pytest.mark.parametrize("version", VERSIONS)
def test_every_manifest_validates_against_the_kubernetes_schema(version: str) -> None:
    docs = k8s_documents()
    assert {doc["kind"] for _, doc in docs} >= {
        "Deployment",
        "Service",
        "HorizontalPodAutoscaler",
        "PodDisruptionBudget",
        "ServiceAccount",
        "NetworkPolicy",
    }
    for name, doc in docs:
        try:
            kubernetes_validate.validate(doc, version, strict=True)
        except kubernetes_validate.ValidationError as exc:
            pytest.fail(f"{name} ({doc['kind']}) is invalid for Kubernetes {version}: {exc.message} at {exc.path}")


def test_a_broken_manifest_fails_the_validation() -> None:
    """The validator is strict enough to catch the mistakes that matter (a misspelt field, a wrong type)."""
    deployment = k8s_object("Deployment")
    deployment["spec"]["template"]["spec"]["containers"][0]["readinessprobe"] = {"httpGet": {"path": "/readyz"}}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, VERSIONS[-1], strict=True)
    deployment = k8s_object("Deployment")
    deployment["spec"]["replicas"] = "two"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, VERSIONS[-1], strict=True)


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl (with its built-in kustomize) is not installed")
def test_the_kustomization_renders_and_the_result_validates(tmp_path: Path) -> None:
    done = subprocess.run(["kubectl", "kustomize", str(KUBERNETES)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    docs = [d for d in yaml.safe_load_all(done.stdout) if d]
    for doc in docs:
        kubernetes_validate.validate(doc, VERSIONS[-1], strict=True)
    by_kind = {d["kind"]: d for d in docs}
    config_map = by_kind["ConfigMap"]
    assert config_map["metadata"]["name"].startswith("bedrockctl-config-")  # hashed: a change rolls the pods
    pod = by_kind["Deployment"]["spec"]["template"]["spec"]
    assert {"name": "config", "configMap": {"name": config_map["metadata"]["name"]}} in pod["volumes"]
    image = pod["containers"][0]["image"]
    assert re.fullmatch(r"[\w./-]+:[\w.-]+", image) and not image.endswith(":latest"), image
    assert all(d["metadata"].get("namespace") == "bedrockctl" for d in docs if d["kind"] != "Namespace")
    (tmp_path / "bedrockctl.toml").write_text(config_map["data"]["bedrockctl.toml"])
    assert load_settings(env={}, config_path=tmp_path / "bedrockctl.toml", cwd=tmp_path, home=tmp_path)


def test_several_replicas_and_a_disruption_budget_that_keeps_one() -> None:
    assert k8s_object("Deployment")["spec"]["replicas"] >= 2
    hpa = k8s_object("HorizontalPodAutoscaler")["spec"]
    assert hpa["minReplicas"] >= 2 and hpa["maxReplicas"] > hpa["minReplicas"]
    assert hpa["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "bedrockctl"}
    pdb = k8s_object("PodDisruptionBudget")["spec"]
    assert pdb.get("maxUnavailable", 0) < hpa["minReplicas"] or pdb.get("minAvailable", 0) >= 1
    strategy = k8s_object("Deployment")["spec"]["strategy"]["rollingUpdate"]
    assert strategy["maxUnavailable"] == 0  # a rollout never drops below the current capacity


def test_the_pod_runs_as_the_image_user_on_a_read_only_root_with_no_capabilities() -> None:
    pod = k8s_object("Deployment")["spec"]["template"]["spec"]
    user = dict(dockerfile_instructions("runtime"))["USER"]
    uid, gid = (int(x) for x in user.split(":"))
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert (pod["securityContext"]["runAsUser"], pod["securityContext"]["runAsGroup"]) == (uid, gid) != (0, 0)
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert pod["automountServiceAccountToken"] is False
    sc = _container()["securityContext"]
    assert sc["readOnlyRootFilesystem"] is True
    assert sc["allowPrivilegeEscalation"] is False
    assert sc["runAsNonRoot"] is True
    assert sc["capabilities"] == {"drop": ["ALL"]}
    assert not sc.get("privileged", False)


def test_every_path_the_process_writes_is_a_volume() -> None:
    pod = k8s_object("Deployment")["spec"]["template"]["spec"]
    container = _container()
    env = _env(container)
    mounts = {m["mountPath"]: m for m in container["volumeMounts"]}
    volumes = {v["name"]: v for v in pod["volumes"]}
    for var in ("BEDROCKCTL_DATA_DIR", "TMPDIR"):
        path = env[var]["value"]
        assert path in mounts, f"{var}={path} is not on a volume"
        assert not mounts[path].get("readOnly", False)
        assert "emptyDir" in volumes[mounts[path]["name"]], f"{path} is not scratch space"
    assert {m["name"] for m in container["volumeMounts"]} <= set(volumes)
    declared = dockerfile_instructions("runtime")
    image_volumes = {v for ins, args in declared if ins == "VOLUME" for v in yaml.safe_load(args)}
    assert {env["BEDROCKCTL_DATA_DIR"]["value"], env["TMPDIR"]["value"]} == image_volumes
    config_path = env["BEDROCKCTL_CONFIG"]["value"]
    assert mounts[str(Path(config_path).parent)]["readOnly"] is True


def test_probes_use_the_gateway_health_routes() -> None:
    container = _container()
    port_names = {p["name"]: p["containerPort"] for p in container["ports"]}
    for probe, path in (("startupProbe", "/livez"), ("livenessProbe", "/livez"), ("readinessProbe", "/readyz")):
        get = container[probe]["httpGet"]
        assert get["path"] == path, probe
        assert get["port"] in port_names
    args = container["args"]
    assert args[0] == "serve"
    assert args[args.index("--host") + 1] == "0.0.0.0"
    assert int(args[args.index("--port") + 1]) == port_names["http"]
    exposed = {int(p) for ins, args_ in dockerfile_instructions("runtime") if ins == "EXPOSE" for p in args_.split()}
    assert port_names["http"] in exposed


def test_secrets_are_referenced_never_inline() -> None:
    assert all(doc["kind"] != "Secret" for _, doc in k8s_documents()), "no Secret object (and no value) is committed"
    env = _env(_container())
    for name in ("BEDROCKCTL_STORE_URL", "BEDROCKCTL_GATEWAY_SECRET"):
        ref = env[name]["valueFrom"]["secretKeyRef"]
        assert ref["name"] == "bedrockctl" and ref["key"]
    for name, entry in env.items():
        if SECRET_NAMES.search(name):
            assert "value" not in entry, f"{name} has an inline value"
    toml_text = (KUBERNETES / "bedrockctl.toml").read_text()
    settings = load_settings(env={}, config_path=KUBERNETES / "bedrockctl.toml", cwd=KUBERNETES, home=KUBERNETES)
    assert settings.store.url is None and GatewayOptions.from_settings(settings).master_secret is None
    assert not re.search(r"://[^/\s:]+:[^@\s]+@", toml_text), "a URL with a password in the config file"


def test_the_image_is_pinned() -> None:
    images = kustomization()["images"]
    assert [i["name"] for i in images] == [_container()["image"]]
    tag = str(images[0]["newTag"])
    assert tag and tag != "latest"


def test_service_pdb_and_network_policy_select_the_pods() -> None:
    labels = k8s_object("Deployment")["spec"]["template"]["metadata"]["labels"]
    assert k8s_object("Deployment")["spec"]["selector"]["matchLabels"].items() <= labels.items()
    assert k8s_object("Service")["spec"]["selector"].items() <= labels.items()
    assert k8s_object("PodDisruptionBudget")["spec"]["selector"]["matchLabels"].items() <= labels.items()
    assert k8s_object("NetworkPolicy")["spec"]["podSelector"]["matchLabels"].items() <= labels.items()
    service_port = k8s_object("Service")["spec"]["ports"][0]
    assert service_port["targetPort"] in {p["name"] for p in _container()["ports"]}
    ingress_ports = {p["port"] for rule in k8s_object("NetworkPolicy")["spec"]["ingress"] for p in rule["ports"]}
    assert {p["containerPort"] for p in _container()["ports"]} <= ingress_ports
    assert (
        k8s_object("Deployment")["spec"]["template"]["spec"]["serviceAccountName"]
        == (k8s_object("ServiceAccount")["metadata"]["name"])
    )
