"""Agents for Amazon Bedrock runtime: InvokeAgent.

``POST /agents/{agentId}/agentAliases/{agentAliasId}/sessions/{sessionId}/text`` answers with an event stream of
``chunk`` events (the reply bytes) preceded, when ``enableTrace`` is set, by ``trace`` events (an orchestration
trace with the model input, the model output usage, a rationale and the final response). The agent and alias
come from the control plane (``agents.get_agent_alias``); unknown ones are ResourceNotFoundException. A session
remembers its turns (the reply says which turn it is, and the prompt tokens grow with the history) until a call
with ``endSession``.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import importlib
import re
import threading
from collections.abc import Iterator
from typing import Any

from bedrockctl.sandbox import eventstream
from bedrockctl.sandbox.bedrock.control_common import partition_of
from bedrockctl.sandbox.core import ROUTER, AwsError, InvocationRecord, SandboxRequest, SandboxResponse
from bedrockctl.sandbox.iam_sim import enforce_iam
from bedrockctl.sandbox.state import StateStore

from . import runtime_engine as engine
from . import tokens
from .formats import Prompt, Turn, Usage, text_block

_SESSION_ID = re.compile(r"^[0-9a-zA-Z._:-]+$")
_DEFAULT_MODEL = "anthropic.claude-3-haiku-20240307-v1:0"


class _Sessions:
    def __init__(self, account_id: str, region: str) -> None:
        self.turns: dict[tuple[str, str, str], list[tuple[str, str]]] = {}
        self.lock = threading.Lock()


SESSIONS: StateStore[_Sessions] = StateStore(_Sessions)


def _agents_fn(name: str) -> Any:
    try:
        module = importlib.import_module("bedrockctl.sandbox.bedrock.agents")
    except ImportError:
        return None
    fn = getattr(module, name, None)
    return fn if callable(fn) else None


def _lookup(req: SandboxRequest, agent_id: str, alias_id: str) -> dict[str, Any]:
    """The alias record (GetAgentAlias ``agentAlias`` shape, plus the agent's ``foundationModel`` if known)."""
    fn = _agents_fn("get_agent_alias")
    if fn is None:
        return {"agentId": agent_id, "agentAliasId": alias_id}
    found = fn(req.account_id, req.region, agent_id, alias_id)
    if not found:
        raise AwsError(
            "ResourceNotFoundException",
            f"Failed to retrieve resource because it doesn't exist. Please check the agent id "
            f"{agent_id} and alias id {alias_id}.",
            404,
        )
    return dict(found)


def _agent_version(alias: dict[str, Any]) -> str:
    routing = alias.get("routingConfiguration") or []
    version = routing[0].get("agentVersion") if routing and isinstance(routing[0], dict) else None
    return str(version or ("DRAFT" if alias.get("agentAliasId") == "TSTALIASID" else "1"))


def _iso(ts: dt.datetime) -> str:
    return ts.isoformat(timespec="milliseconds").replace("+00:00", "Z")


@ROUTER.route(
    "bedrock-agent-runtime",
    "POST",
    r"/agents/(?P<agent_id>[^/]+)/agentAliases/(?P<alias_id>[^/]+)/sessions/(?P<session_id>[^/]+)/text",
)
def invoke_agent(req: SandboxRequest, agent_id: str, alias_id: str, session_id: str) -> SandboxResponse:
    try:
        return _invoke_agent(req, agent_id, alias_id, session_id)
    except AwsError as err:
        req.sandbox.record_invocation(
            req, InvocationRecord("InvokeAgent", agent_id, 0, 0, error_code=err.code, output_body=err.message)
        )
        raise


def _invoke_agent(req: SandboxRequest, agent_id: str, alias_id: str, session_id: str) -> SandboxResponse:
    # IAM first (fault knob ``iam_enforcement``), on the agent alias ARN as AWS authorises InvokeAgent
    alias_arn = (
        f"arn:{partition_of(req.region)}:bedrock:{req.region}:{req.account_id}:agent-alias/{agent_id}/{alias_id}"
    )
    enforce_iam(req, "bedrock:InvokeAgent", alias_arn)
    body = req.json()
    if not _SESSION_ID.match(session_id) or len(session_id) < 2 or len(session_id) > 100:
        raise AwsError(
            "ValidationException",
            f"1 validation error detected: Value '{session_id}' at 'sessionId' "
            "failed to satisfy constraint: Member must satisfy regular expression pattern: "
            "[0-9a-zA-Z._:-]+",
        )
    alias = _lookup(req, agent_id, alias_id)
    text = str(body.get("inputText") or "")
    model_id = str(alias.get("foundationModel") or _DEFAULT_MODEL).rsplit("/", 1)[-1]
    sessions = SESSIONS.get(req.account_id, req.region)
    key = (agent_id, alias_id, session_id)
    with sessions.lock:
        history = list(sessions.turns.get(key, []))
    prompt = Prompt(system=[text_block(f"You are agent {agent_id}.")])
    for user_text, reply_text in history:
        prompt.turns += [Turn("user", [text_block(user_text)]), Turn("assistant", [text_block(reply_text)])]
    prompt.turns.append(Turn("user", [text_block(text)]))
    turn = len(history) + 1
    digest = hashlib.sha256(f"{agent_id}:{session_id}:{turn}:{text}".encode()).hexdigest()[:8]
    reply = f'Agent {agent_id} reply {digest} (turn {turn}): I received "{" ".join(text.split())[:48]}".'
    total_in, _ = engine.count_input(prompt)
    usage = Usage(input_tokens=total_in, output_tokens=tokens.text_tokens(reply))
    with sessions.lock:
        if body.get("endSession"):
            sessions.turns.pop(key, None)
        else:
            sessions.turns[key] = [*history, (text, reply)]
    events = _events(
        req, alias, agent_id, alias_id, session_id, model_id, prompt, reply, usage, bool(body.get("enableTrace"))
    )
    latency = engine.latency_for(usage)

    def stream() -> Iterator[bytes]:
        yield from events
        req.sandbox.record_invocation(
            req,
            InvocationRecord(
                "InvokeAgent",
                agent_id,
                usage.input_tokens,
                usage.output_tokens,
                latency_ms=latency,
                input_body={"inputText": text, "sessionId": session_id},
                output_body={"completion": reply},
            ),
        )

    headers = {
        "Content-Type": eventstream.CONTENT_TYPE,
        "x-amzn-bedrock-agent-content-type": "application/json",
        "x-amz-bedrock-agent-session-id": session_id,
    }
    if body.get("memoryId"):
        headers["x-amz-bedrock-agent-memory-id"] = str(body["memoryId"])
    return SandboxResponse(200, stream(), headers)


def _events(
    req: SandboxRequest,
    alias: dict[str, Any],
    agent_id: str,
    alias_id: str,
    session_id: str,
    model_id: str,
    prompt: Prompt,
    reply: str,
    usage: Usage,
    trace: bool,
) -> list[bytes]:
    out: list[bytes] = []
    if trace:
        now = dt.datetime.now(dt.UTC)
        trace_id = f"{req.request_id}-0"
        meta = {
            "usage": {"inputTokens": usage.input_tokens, "outputTokens": usage.output_tokens},
            "startTime": _iso(now),
            "endTime": _iso(now),
            "totalTimeMs": engine.latency_for(usage),
            "clientRequestId": req.request_id,
        }
        steps = [
            {
                "modelInvocationInput": {
                    "traceId": trace_id,
                    "type": "ORCHESTRATION",
                    "foundationModel": model_id,
                    "text": prompt.last_user_text(),
                }
            },
            {"modelInvocationOutput": {"traceId": trace_id, "metadata": meta, "rawResponse": {"content": reply}}},
            {"rationale": {"traceId": trace_id, "text": "The user asked a question; answer it directly."}},
            {
                "observation": {
                    "traceId": trace_id,
                    "type": "FINISH",
                    "finalResponse": {"text": reply, "metadata": meta},
                }
            },
        ]
        for step in steps:
            out.append(
                eventstream.encode_event(
                    "trace",
                    {
                        "agentId": agent_id,
                        "agentAliasId": alias_id,
                        "sessionId": session_id,
                        "agentVersion": _agent_version(alias),
                        "eventTime": _iso(now),
                        "trace": {"orchestrationTrace": step},
                    },
                )
            )
    out.append(eventstream.encode_event("chunk", {"bytes": base64.b64encode(reply.encode()).decode()}))
    return out
