"""InvokeAgent against the running sandbox with a real boto3 bedrock-agent-runtime client."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from bedrockctl.sandbox.core import InvocationRecord
from bedrockctl.sandbox.shapecheck import validate_output


@pytest.fixture
def records(sandbox_env: Any, monkeypatch: pytest.MonkeyPatch) -> list[InvocationRecord]:
    seen: list[InvocationRecord] = []
    original = sandbox_env.record_invocation

    def spy(req: Any, record: InvocationRecord) -> None:
        seen.append(record)
        original(req, record)

    monkeypatch.setattr(sandbox_env, "record_invocation", spy)
    return seen


@pytest.fixture
def agent_id(boto_client: Any) -> str:
    agent = boto_client("bedrock-agent").create_agent(
        agentName="helper",
        foundationModel="anthropic.claude-3-haiku-20240307-v1:0",
        agentResourceRoleArn="arn:aws:iam::123456789012:role/AmazonBedrockExecutionRoleForAgents_helper",
        instruction="You help the platform team with their questions about Bedrock.",
    )
    return str(agent["agent"]["agentId"])


def _invoke(
    client: Any, agent_id: str, session: str, text: str, **kwargs: Any
) -> tuple[dict[str, Any], str, list[dict[str, Any]]]:
    resp = client.invoke_agent(agentId=agent_id, agentAliasId="TSTALIASID", sessionId=session, inputText=text, **kwargs)
    assert validate_output("bedrock-agent-runtime", "InvokeAgent", resp) == []
    events = list(resp["completion"])
    reply = b"".join(e["chunk"]["bytes"] for e in events if "chunk" in e).decode()
    return resp, reply, events


def test_invoke_agent_streams_chunks_and_remembers_the_session(
    boto_client: Any, agent_id: str, records: list[InvocationRecord]
) -> None:
    client = boto_client("bedrock-agent-runtime")
    resp, first, events = _invoke(client, agent_id, "session-1", "What models can I use?")
    assert resp["sessionId"] == "session-1" and resp["contentType"] == "application/json"
    assert "(turn 1)" in first and all("trace" not in e for e in events)
    _, second, _ = _invoke(client, agent_id, "session-1", "And in eu-west-1?")
    assert "(turn 2)" in second
    assert records[-1].operation == "InvokeAgent" and records[-1].model_id == agent_id
    assert records[-1].input_tokens > records[-2].input_tokens  # the history is part of the prompt
    _, other, _ = _invoke(client, agent_id, "session-2", "What models can I use?")
    assert "(turn 1)" in other
    _invoke(client, agent_id, "session-1", "bye", endSession=True)
    _, fresh, _ = _invoke(client, agent_id, "session-1", "hello again")
    assert "(turn 1)" in fresh


def test_invoke_agent_trace_events(boto_client: Any, agent_id: str) -> None:
    client = boto_client("bedrock-agent-runtime")
    _, reply, events = _invoke(client, agent_id, "traced", "Explain quotas", enableTrace=True)
    traces = [e["trace"] for e in events if "trace" in e]
    assert traces and all(t["agentId"] == agent_id and t["sessionId"] == "traced" for t in traces)
    steps = [next(iter(t["trace"]["orchestrationTrace"])) for t in traces]
    assert steps == ["modelInvocationInput", "modelInvocationOutput", "rationale", "observation"]
    final = traces[-1]["trace"]["orchestrationTrace"]["observation"]["finalResponse"]
    assert final["text"] == reply
    assert "chunk" in events[-1]


def test_invoke_agent_unknown_agent(boto_client: Any, records: list[InvocationRecord]) -> None:
    client = boto_client("bedrock-agent-runtime")
    with pytest.raises(ClientError) as info:
        client.invoke_agent(agentId="NOSUCHAGNT", agentAliasId="TSTALIASID", sessionId="s1", inputText="hi")
    assert info.value.response["Error"]["Code"] == "ResourceNotFoundException"
    assert records[-1].error_code == "ResourceNotFoundException"
