"""The AWS SDK for JavaScript v3 parses what the sandbox answers (the strictest of the SDKs we can run here).

The Bedrock and Bedrock Agents clients (HTTP/1.1) run on their defaults; the runtime client defaults to HTTP/2,
which the sandbox does not serve yet, so it is given the SDK's HTTP/1.1 handler. The packages come from the npm
registry into ``.cache/js-sdk/`` (ignored by git), once per version set; the test is skipped, with the reason,
when node or npm is missing or the registry cannot be reached.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import hashlib
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from .wiretap import KNOWLEDGE_BASE, ROLE

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = Path(__file__).with_name("js") / "bedrock_clients.cjs"
PACKAGES = {
    "@aws-sdk/client-bedrock": "3.1178.0",
    "@aws-sdk/client-bedrock-agent": "3.1138.0",
    "@aws-sdk/client-bedrock-runtime": "3.1178.0",
    "@smithy/node-http-handler": "4.14.2",
}
HAIKU = "anthropic.claude-3-haiku-20240307-v1:0"


@pytest.fixture(scope="session")
def js_sdk() -> Path:
    """``node_modules`` with the pinned SDK packages (installed on first use, under a lock for xdist)."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if not node or not npm:
        pytest.skip("node and npm are needed to run the AWS SDK for JavaScript v3")
    key = hashlib.sha256(json.dumps(PACKAGES, sort_keys=True).encode()).hexdigest()[:12]
    target = ROOT / ".cache" / "js-sdk" / key
    target.mkdir(parents=True, exist_ok=True)
    with (target / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (target / "installed").exists():
            (target / "package.json").write_text('{"private": true}')
            specs = [f"{name}@{version}" for name, version in PACKAGES.items()]
            cmd = [npm, "install", "--no-audit", "--no-fund", "--no-save", "--loglevel=error", *specs]
            try:
                done = subprocess.run(cmd, cwd=target, capture_output=True, text=True, timeout=600, check=False)
            except subprocess.TimeoutExpired:
                pytest.skip("npm install of the AWS SDK for JavaScript timed out")
            if done.returncode != 0:
                pytest.skip(f"npm install of the AWS SDK for JavaScript failed: {done.stderr.strip()[-300:]}")
            (target / "installed").write_text("\n".join(PACKAGES))
    return target / "node_modules"


def _estate(boto_client: Any) -> dict[str, str]:
    bedrock = boto_client("bedrock")
    bedrock.create_model_customization_job(
        jobName="js-ft",
        customModelName="js-model",
        roleArn=ROLE,
        baseModelIdentifier="amazon.titan-text-express-v1",
        trainingDataConfig={"s3Uri": "s3://train/data.jsonl"},
        outputDataConfig={"s3Uri": "s3://train/out/"},
        hyperParameters={"epochCount": "1"},
    )
    bedrock.put_model_invocation_logging_configuration(
        loggingConfig={"s3Config": {"bucketName": "logs-bucket"}, "textDataDeliveryEnabled": True}
    )
    bedrock.create_guardrail(name="js-guard", blockedInputMessaging="no", blockedOutputsMessaging="no")
    bedrock.create_provisioned_model_throughput(modelUnits=1, provisionedModelName="js-pt", modelId=HAIKU)
    agents = boto_client("bedrock-agent")
    agent_id = agents.create_agent(agentName="js-agent", agentResourceRoleArn=ROLE, foundationModel=HAIKU)["agent"][
        "agentId"
    ]
    agents.create_agent_alias(agentId=agent_id, agentAliasName="live")
    kb = agents.create_knowledge_base(name="js-kb", **KNOWLEDGE_BASE)
    return {
        "agentId": agent_id,
        "jobName": "js-ft",
        "customModel": "js-model",
        "knowledgeBaseId": kb["knowledgeBase"]["knowledgeBaseId"],
        "modelId": HAIKU,
    }


def test_js_sdk_parses_control_plane_and_runtime(
    js_sdk: Path, boto_client: Any, sandbox_env: Any, tmp_path: Path
) -> None:
    estate = _estate(boto_client)
    request = tmp_path / "input.json"
    request.write_text(json.dumps({**estate, "endpoint": sandbox_env.endpoint_url, "region": "us-east-1"}))
    env = {**os.environ, "NODE_PATH": str(js_sdk)}
    done = subprocess.run(
        [str(shutil.which("node")), str(SCRIPT), str(request)],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    failed = {name: r for name, r in out.items() if "error" in r and name not in ("GetAgentMissing", "ConverseBlank")}
    assert failed == {}
    agent = out["GetAgent"]["agent"]
    assert agent["agentId"] == estate["agentId"] and agent["idleSessionTTLInSeconds"] == 600
    created = dt.datetime.fromisoformat(agent["createdAt"].replace("Z", "+00:00"))
    expected = boto_client("bedrock-agent").get_agent(agentId=estate["agentId"])["agent"]["createdAt"]
    assert abs((created - expected).total_seconds()) < 0.001
    assert out["ListAgents"]["agentSummaries"][0]["latestAgentVersion"] == "DRAFT"
    assert out["ListCustomModels"]["modelSummaries"][0]["modelName"] == "js-model"
    job = out["GetModelCustomizationJob"]
    assert job["status"] == "InProgress" and job["validationDataConfig"] == {"validators": []}
    assert out["ListModelCustomizationJobs"]["modelCustomizationJobSummaries"][0]["jobName"] == "js-ft"
    assert out["GetKnowledgeBase"]["knowledgeBase"]["status"] == "ACTIVE"
    assert {a["agentAliasName"] for a in out["ListAgentAliases"]["agentAliasSummaries"]} == {"AgentTestAlias", "live"}
    assert out["GetAgentMissing"]["error"] == "ResourceNotFoundException"
    assert out["GetAgentMissing"]["status"] == 404
    assert out["Converse"]["output"]["message"]["content"][0]["text"].startswith("Sandbox reply")
    assert out["ConverseBlank"]["error"] == "ValidationException" and out["ConverseBlank"]["status"] == 400
