"""Agent aliases and PrepareAgent over moto's agents (service ``bedrock-agent``).

Operations: CreateAgentAlias, GetAgentAlias, ListAgentAliases, UpdateAgentAlias, DeleteAgentAlias,
PrepareAgent. Agents themselves (Create/Get/List/DeleteAgent) are moto's; every call here first checks the agent
exists in ``moto.bedrockagent.models.bedrockagent_backends[account][region]``.

Like AWS, every agent has the built-in test alias ``TSTALIASID`` (name ``AgentTestAlias``) routing to DRAFT,
and an alias created without ``routingConfiguration`` gets a new numbered agent version.
``get_agent_alias(account, region, agent_id, alias_id)`` is what InvokeAgent uses.
"""

from __future__ import annotations

import copy
import threading
from dataclasses import dataclass, field
from typing import Any

from bedrockctl.sandbox.bedrock.control_common import (
    check_pattern,
    constraint_error,
    iso,
    new_id,
    not_found,
    now,
    page_params,
    paginate,
    partition_of,
    validation,
)
from bedrockctl.sandbox.core import ROUTER, AwsError, SandboxRequest, SandboxResponse
from bedrockctl.sandbox.state import StateStore

SERVICE = "bedrock-agent"
TEST_ALIAS_ID = "TSTALIASID"
TEST_ALIAS_NAME = "AgentTestAlias"
_NAME_PATTERN = r"([0-9a-zA-Z][_-]?){1,100}"
_SUMMARY_KEYS = (
    "agentAliasId",
    "agentAliasName",
    "description",
    "routingConfiguration",
    "agentAliasStatus",
    "createdAt",
    "updatedAt",
    "aliasInvocationState",
)


@dataclass
class _AgentExtras:
    aliases: dict[str, dict[str, Any]] = field(default_factory=dict)
    last_version: int = 0


@dataclass
class _AgentState:
    agents: dict[str, _AgentExtras] = field(default_factory=dict)
    lock: threading.RLock = field(default_factory=threading.RLock)


_STATE: StateStore[_AgentState] = StateStore(lambda account, region: _AgentState())


def _moto_agent(account_id: str, region: str, agent_id: str) -> Any | None:
    from moto.bedrockagent.models import bedrockagent_backends

    return bedrockagent_backends[account_id][region].agents.get(agent_id)


def _agent_or_404(req: SandboxRequest, agent_id: str) -> Any:
    agent = _moto_agent(req.account_id, req.region, agent_id)
    if agent is None:
        raise not_found(f"Failed to retrieve resource because it doesn't exist. Agent {agent_id} was not found.")
    return agent


def _alias_arn(region: str, account_id: str, agent_id: str, alias_id: str) -> str:
    return f"arn:{partition_of(region)}:bedrock:{region}:{account_id}:agent-alias/{agent_id}/{alias_id}"


def _test_alias(account_id: str, region: str, agent: Any) -> dict[str, Any]:
    created = iso(_ts(agent.created_at))
    return {
        "agentId": agent.agent_id,
        "agentAliasId": TEST_ALIAS_ID,
        "agentAliasName": TEST_ALIAS_NAME,
        "agentAliasArn": _alias_arn(region, account_id, agent.agent_id, TEST_ALIAS_ID),
        "description": "Test Alias for Agent",
        "routingConfiguration": [{"agentVersion": "DRAFT"}],
        "createdAt": created,
        "updatedAt": created,
        "agentAliasStatus": "PREPARED",
        "aliasInvocationState": "ACCEPT_INVOCATIONS",
    }


def _ts(value: Any) -> Any:
    import datetime as dt

    if isinstance(value, int | float):
        return dt.datetime.fromtimestamp(value, dt.UTC)
    return now()


def _aliases(account_id: str, region: str, agent: Any) -> list[dict[str, Any]]:
    state = _STATE.get(account_id, region)
    with state.lock:
        extras = state.agents.get(agent.agent_id)
        own = [copy.deepcopy(a) for a in extras.aliases.values()] if extras else []
    return [_test_alias(account_id, region, agent), *own]


def get_agent_alias(account_id: str, region: str, agent_id: str, alias_id: str) -> dict[str, Any] | None:
    """The GetAgentAlias ``agentAlias`` document plus the agent's ``foundationModel`` (when it has one), or
    None when the agent or the alias doesn't exist."""
    agent = _moto_agent(account_id, region, agent_id)
    if agent is None:
        return None
    for alias in _aliases(account_id, region, agent):
        if alias["agentAliasId"] == alias_id:
            if agent.foundation_model:
                alias["foundationModel"] = agent.foundation_model
            return alias
    return None


def _routing(body: dict[str, Any], extras: _AgentExtras) -> list[dict[str, Any]]:
    routing = body.get("routingConfiguration")
    if routing is None or routing == []:
        extras.last_version += 1  # AWS snapshots DRAFT into a new version for the alias
        return [{"agentVersion": str(extras.last_version)}]
    if not isinstance(routing, list) or len(routing) > 1:
        raise constraint_error(routing, "routingConfiguration", "Member must have length less than or equal to 1")
    version = routing[0].get("agentVersion")
    if version is not None:
        check_pattern(str(version), "routingConfiguration.1.member.agentVersion", r"(DRAFT|[0-9]{0,4}[1-9][0-9]{0,4})")
        if version != "DRAFT" and int(version) > extras.last_version:
            raise validation(f"Agent version {version} doesn't exist.")
    return [dict(routing[0])]


@ROUTER.route(SERVICE, "PUT", r"/agents/(?P<agent_id>[^/]+)/agentaliases/?")
def create_agent_alias(req: SandboxRequest, agent_id: str) -> SandboxResponse:
    agent = _agent_or_404(req, agent_id)
    body = req.json()
    name = body.get("agentAliasName")
    if not isinstance(name, str):
        raise constraint_error(name, "agentAliasName", "Member must not be null")
    check_pattern(name, "agentAliasName", _NAME_PATTERN)
    state = _STATE.get(req.account_id, req.region)
    with state.lock:
        extras = state.agents.setdefault(agent.agent_id, _AgentExtras())
        if name == TEST_ALIAS_NAME or any(a["agentAliasName"] == name for a in extras.aliases.values()):
            raise AwsError("ConflictException", f"An alias with the name {name} already exists for this agent.", 409)
        routing = _routing(body, extras)
        alias_id = new_id(10, upper=True)
        ts = iso(now())
        alias: dict[str, Any] = {
            "agentId": agent.agent_id,
            "agentAliasId": alias_id,
            "agentAliasName": name,
            "agentAliasArn": _alias_arn(req.region, req.account_id, agent.agent_id, alias_id),
            "routingConfiguration": routing,
            "createdAt": ts,
            "updatedAt": ts,
            "agentAliasStatus": "PREPARED",
            "aliasInvocationState": "ACCEPT_INVOCATIONS",
            "agentAliasHistoryEvents": [{"routingConfiguration": routing, "startDate": ts}],
        }
        for key in ("description", "clientToken"):
            if body.get(key):
                alias[key] = body[key]
        extras.aliases[alias_id] = alias
        out = copy.deepcopy(alias)
    if body.get("tags"):
        from moto.bedrockagent.models import bedrockagent_backends

        bedrockagent_backends[req.account_id][req.region].tagger.tag_resource(
            alias["agentAliasArn"], [{"Key": k, "Value": v} for k, v in body["tags"].items()]
        )
    return SandboxResponse.json({"agentAlias": out}, 202)


@ROUTER.route(SERVICE, "POST", r"/agents/(?P<agent_id>[^/]+)/agentaliases/?")
def list_agent_aliases(req: SandboxRequest, agent_id: str) -> SandboxResponse:
    agent = _agent_or_404(req, agent_id)
    body = req.json()
    offset, max_results = page_params(req, body if isinstance(body, dict) else {})
    summaries = [{k: a[k] for k in _SUMMARY_KEYS if k in a} for a in _aliases(req.account_id, req.region, agent)]
    page, token = paginate(summaries, offset, min(max_results, 10))
    out: dict[str, Any] = {"agentAliasSummaries": page}
    if token:
        out["nextToken"] = token
    return SandboxResponse.json(out)


@ROUTER.route(SERVICE, "GET", r"/agents/(?P<agent_id>[^/]+)/agentaliases/(?P<alias_id>[^/]+)/?")
def get_agent_alias_handler(req: SandboxRequest, agent_id: str, alias_id: str) -> SandboxResponse:
    _agent_or_404(req, agent_id)
    alias = get_agent_alias(req.account_id, req.region, agent_id, alias_id)
    if alias is None:
        raise not_found(f"Failed to retrieve resource because it doesn't exist. Alias {alias_id} was not found.")
    alias.pop("foundationModel", None)  # not part of the AgentAlias shape
    return SandboxResponse.json({"agentAlias": alias})


@ROUTER.route(SERVICE, "PUT", r"/agents/(?P<agent_id>[^/]+)/agentaliases/(?P<alias_id>[^/]+)/?")
def update_agent_alias(req: SandboxRequest, agent_id: str, alias_id: str) -> SandboxResponse:
    agent = _agent_or_404(req, agent_id)
    body = req.json()
    if alias_id == TEST_ALIAS_ID:
        raise validation("The test alias TSTALIASID can't be updated.")
    state = _STATE.get(req.account_id, req.region)
    with state.lock:
        extras = state.agents.setdefault(agent.agent_id, _AgentExtras())
        alias = extras.aliases.get(alias_id)
        if alias is None:
            raise not_found(f"Failed to retrieve resource because it doesn't exist. Alias {alias_id} was not found.")
        name = body.get("agentAliasName")
        if isinstance(name, str):
            check_pattern(name, "agentAliasName", _NAME_PATTERN)
            alias["agentAliasName"] = name
        if body.get("description"):
            alias["description"] = body["description"]
        ts = iso(now())
        if "routingConfiguration" in body:
            alias["routingConfiguration"] = _routing(body, extras)
            history = alias["agentAliasHistoryEvents"]
            history[0]["endDate"] = ts
            history.insert(0, {"routingConfiguration": alias["routingConfiguration"], "startDate": ts})
            del history[10:]
        alias["updatedAt"] = ts
        out = copy.deepcopy(alias)
    return SandboxResponse.json({"agentAlias": out}, 202)


@ROUTER.route(SERVICE, "DELETE", r"/agents/(?P<agent_id>[^/]+)/agentaliases/(?P<alias_id>[^/]+)/?")
def delete_agent_alias(req: SandboxRequest, agent_id: str, alias_id: str) -> SandboxResponse:
    agent = _agent_or_404(req, agent_id)
    if alias_id == TEST_ALIAS_ID:
        raise validation("The test alias TSTALIASID can't be deleted.")
    state = _STATE.get(req.account_id, req.region)
    with state.lock:
        extras = state.agents.get(agent.agent_id)
        if extras is None or extras.aliases.pop(alias_id, None) is None:
            raise not_found(f"Failed to retrieve resource because it doesn't exist. Alias {alias_id} was not found.")
    return SandboxResponse.json(
        {"agentId": agent.agent_id, "agentAliasId": alias_id, "agentAliasStatus": "DELETING"}, 202
    )


@ROUTER.route(SERVICE, "POST", r"/agents/(?P<agent_id>[^/]+)/?")
def prepare_agent(req: SandboxRequest, agent_id: str) -> SandboxResponse:
    agent = _agent_or_404(req, agent_id)
    import time

    agent.agent_status = "PREPARED"
    agent.prepared_at = time.time()
    return SandboxResponse.json(
        {
            "agentId": agent.agent_id,
            "agentStatus": "PREPARED",
            "agentVersion": "DRAFT",
            "preparedAt": iso(_ts(agent.prepared_at)),
        },
        202,
    )
