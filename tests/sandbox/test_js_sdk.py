"""The AWS SDK for JavaScript v3 parses what the sandbox answers (the strictest of the SDKs we can run here).

Every client runs on its defaults: the Bedrock and Bedrock Agents clients on HTTP/1.1, the runtime client on HTTP/2
(h2c with prior knowledge, which the sandbox serves beside HTTP/1.1; tests/sandbox/test_http2.py streams over it).
The packages come from the npm registry into ``.cache/js-sdk/`` (ignored by git) through the ``js_sdk`` fixture
(tests/conftest.py); the test is skipped, with the reason, when node or npm is missing or the registry cannot be
reached.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

from .wiretap import KNOWLEDGE_BASE, ROLE

SCRIPT = Path(__file__).with_name("js") / "bedrock_clients.cjs"
HAIKU = "anthropic.claude-3-haiku-20240307-v1:0"


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
