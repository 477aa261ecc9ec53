"""Agent aliases and PrepareAgent over moto's agents, through real boto3 clients against the sandbox."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from bedrockctl.sandbox.bedrock.agents import TEST_ALIAS_ID, get_agent_alias
from bedrockctl.sandbox.shapecheck import validate_output

ACCOUNT = "123456789012"


def _ok(op: str, resp: dict[str, Any]) -> dict[str, Any]:
    assert validate_output("bedrock-agent", op, resp) == []
    return resp


def _agent(client: Any) -> str:
    # moto builds agent ids as <agentName> + 8 hex chars (AWS: 10 alphanumerics); a 2-character name keeps
    # the id, and so the alias ARN, inside AWS's pattern.
    resp = client.create_agent(
        agentName="sp",
        agentResourceRoleArn=f"arn:aws:iam::{ACCOUNT}:role/AmazonBedrockExecutionRoleForAgents_support",
        foundationModel="anthropic.claude-3-haiku-20240307-v1:0",
        instruction="You are a helpful support agent for the sandbox tests.",
    )
    return str(resp["agent"]["agentId"])


def test_alias_lifecycle(boto_client: Any) -> None:
    client = boto_client("bedrock-agent", "us-east-1")
    agent_id = _agent(client)
    prepared = _ok("PrepareAgent", client.prepare_agent(agentId=agent_id))
    assert prepared["agentStatus"] == "PREPARED" and prepared["agentVersion"] == "DRAFT"
    created = _ok(
        "CreateAgentAlias",
        client.create_agent_alias(
            agentId=agent_id, agentAliasName="prod", description="production", tags={"env": "prod"}
        ),
    )["agentAlias"]
    alias_id = created["agentAliasId"]
    assert len(alias_id) == 10 and alias_id.isalnum() and alias_id == alias_id.upper()
    assert created["agentAliasArn"] == f"arn:aws:bedrock:us-east-1:{ACCOUNT}:agent-alias/{agent_id}/{alias_id}"
    assert created["routingConfiguration"] == [{"agentVersion": "1"}]
    second = client.create_agent_alias(agentId=agent_id, agentAliasName="canary")["agentAlias"]
    assert second["routingConfiguration"] == [{"agentVersion": "2"}]
    pinned = client.create_agent_alias(
        agentId=agent_id, agentAliasName="pinned", routingConfiguration=[{"agentVersion": "1"}]
    )["agentAlias"]
    assert pinned["routingConfiguration"] == [{"agentVersion": "1"}]
    got = _ok("GetAgentAlias", client.get_agent_alias(agentId=agent_id, agentAliasId=alias_id))["agentAlias"]
    assert got["agentAliasName"] == "prod" and got["agentAliasStatus"] == "PREPARED"
    direct = get_agent_alias(ACCOUNT, "us-east-1", agent_id, alias_id)
    assert direct is not None and direct["foundationModel"] == "anthropic.claude-3-haiku-20240307-v1:0"
    assert {k: direct[k] for k in ("agentAliasArn", "agentAliasName", "routingConfiguration")} == {
        k: got[k] for k in ("agentAliasArn", "agentAliasName", "routingConfiguration")
    }
    test_alias = client.get_agent_alias(agentId=agent_id, agentAliasId=TEST_ALIAS_ID)["agentAlias"]
    assert test_alias["routingConfiguration"] == [{"agentVersion": "DRAFT"}]
    listed = _ok("ListAgentAliases", client.list_agent_aliases(agentId=agent_id))["agentAliasSummaries"]
    assert {a["agentAliasName"] for a in listed} == {"AgentTestAlias", "prod", "canary", "pinned"}
    page = _ok("ListAgentAliases", client.list_agent_aliases(agentId=agent_id, maxResults=3))
    rest = client.list_agent_aliases(agentId=agent_id, nextToken=page["nextToken"])
    assert len(page["agentAliasSummaries"]) == 3 and len(rest["agentAliasSummaries"]) == 1
    assert "nextToken" not in rest
    updated = _ok(
        "UpdateAgentAlias",
        client.update_agent_alias(
            agentId=agent_id, agentAliasId=alias_id, agentAliasName="prod", routingConfiguration=[{"agentVersion": "2"}]
        ),
    )["agentAlias"]
    assert updated["routingConfiguration"] == [{"agentVersion": "2"}]
    assert len(updated["agentAliasHistoryEvents"]) == 2
    deleted = _ok("DeleteAgentAlias", client.delete_agent_alias(agentId=agent_id, agentAliasId=alias_id))
    assert deleted["agentAliasStatus"] == "DELETING"
    with pytest.raises(ClientError) as exc:
        client.get_agent_alias(agentId=agent_id, agentAliasId=alias_id)
    assert exc.value.response["Error"]["Code"] == "ResourceNotFoundException"
    assert get_agent_alias(ACCOUNT, "us-east-1", agent_id, alias_id) is None


def test_alias_errors(boto_client: Any) -> None:
    client = boto_client("bedrock-agent", "us-east-1")
    for call in (
        lambda: client.create_agent_alias(agentId="NOAGENT123", agentAliasName="x"),
        lambda: client.list_agent_aliases(agentId="NOAGENT123"),
        lambda: client.get_agent_alias(agentId="NOAGENT123", agentAliasId=TEST_ALIAS_ID),
        lambda: client.prepare_agent(agentId="NOAGENT123"),
    ):
        with pytest.raises(ClientError) as exc:
            call()
        assert exc.value.response["Error"]["Code"] == "ResourceNotFoundException"
        assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    agent_id = _agent(client)
    client.create_agent_alias(agentId=agent_id, agentAliasName="prod")
    with pytest.raises(ClientError) as exc:
        client.create_agent_alias(agentId=agent_id, agentAliasName="prod")
    assert exc.value.response["Error"]["Code"] == "ConflictException"
    with pytest.raises(ClientError) as exc:
        client.create_agent_alias(agentId=agent_id, agentAliasName="x", routingConfiguration=[{"agentVersion": "9"}])
    assert exc.value.response["Error"]["Code"] == "ValidationException"
    with pytest.raises(ClientError) as exc:
        client.delete_agent_alias(agentId=agent_id, agentAliasId=TEST_ALIAS_ID)
    assert exc.value.response["Error"]["Code"] == "ValidationException"
    # aliases belong to the agent's region
    assert get_agent_alias(ACCOUNT, "us-west-2", agent_id, TEST_ALIAS_ID) is None
    # deleting the agent (moto) makes its aliases unreachable
    client.delete_agent(agentId=agent_id, skipResourceInUseCheck=True)
    assert get_agent_alias(ACCOUNT, "us-east-1", agent_id, TEST_ALIAS_ID) is None
