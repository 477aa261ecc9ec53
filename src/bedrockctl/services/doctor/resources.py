"""Agent, guardrail, observability and quota checks."""

from __future__ import annotations

import contextlib
from typing import Any

from bedrockctl.aws.errors import translate
from bedrockctl.catalog import get_model
from bedrockctl.services.doctor.model import Check, Facts, skipped_without_credentials


def _err(exc: BaseException, facts: Facts, service: str) -> Any:
    return translate(exc, service=service, region=facts.region)


# -- agent ---------------------------------------------------------------------------------------------------
def agent_checks(facts: Facts) -> list[Check]:
    agent_id, alias_id = facts.options.agent_id, facts.options.agent_alias_id
    kw: dict[str, Any] = {"target": agent_id, "region": facts.region}
    if not facts.credentials_ok:
        return [skipped_without_credentials("agent.exists", "Agent exists", "high", **kw)]
    client = facts.client("bedrock-agent")
    try:
        agent = client.get_agent(agentId=agent_id)["agent"]
    except Exception as exc:
        e = _err(exc, facts, "bedrock-agent")
        return [
            Check(
                "agent.exists",
                "Agent exists",
                "high",
                "fail",
                f"Agent {agent_id}: {e.code}: {e.message}",
                f"List agents with `aws bedrock-agent list-agents --region {facts.region}`.",
                **kw,
            )
        ]
    out = [
        Check(
            "agent.exists",
            "Agent exists",
            "high",
            "pass",
            f"{agent.get('agentName')} ({agent.get('agentStatus')}), model {agent.get('foundationModel')}.",
            **kw,
        )
    ]
    out.append(_alias(facts, client, agent_id or "", alias_id))
    out.append(_agent_model(facts, str(agent.get("foundationModel") or ""), kw))
    return out


def _alias(facts: Facts, client: Any, agent_id: str, alias_id: str | None) -> Check:
    kw: dict[str, Any] = {"target": f"{agent_id}/{alias_id}", "region": facts.region}
    title = "Agent alias deployed"
    if not alias_id:
        return Check("agent.alias", title, "high", "skip", "No --agent-alias-id given.", **kw)
    try:
        alias = client.get_agent_alias(agentId=agent_id, agentAliasId=alias_id)["agentAlias"]
    except Exception as exc:
        e = _err(exc, facts, "bedrock-agent")
        known: list[str] = []
        with contextlib.suppress(Exception):  # the alias list is only a hint
            known = [
                f"{a['agentAliasId']} ({a.get('agentAliasName')})"
                for a in client.list_agent_aliases(agentId=agent_id).get("agentAliasSummaries", [])
            ]
        return Check(
            "agent.alias",
            title,
            "high",
            "fail",
            f"Alias {alias_id} of agent {agent_id}: {e.code}: "
            f"{e.message}. Existing aliases: {', '.join(known) or 'none visible'}.",
            f"Use an existing alias id, or create one: `aws bedrock-agent create-agent-alias --agent-id "
            f"{agent_id} --agent-alias-name live --region {facts.region}`.",
            data={"aliases": known},
            **kw,
        )
    status = alias.get("agentAliasStatus")
    routing = [r.get("agentVersion") for r in alias.get("routingConfiguration", [])]
    evidence = f"{alias.get('agentAliasName')}: status {status}, routes to version(s) {', '.join(map(str, routing))}."
    if status != "PREPARED":
        return Check(
            "agent.alias",
            title,
            "high",
            "fail" if status == "FAILED" else "warn",
            evidence,
            f"Prepare the agent (`aws bedrock-agent prepare-agent --agent-id {agent_id}`) and update the "
            "alias to a prepared version.",
            data={"status": status, "routing": routing},
            **kw,
        )
    if routing == ["DRAFT"] and alias_id != "TSTALIASID":
        return Check(
            "agent.alias",
            title,
            "medium",
            "warn",
            evidence + " Routes to DRAFT.",
            "Point production aliases at a numbered version.",
            data={"status": status, "routing": routing},
            **kw,
        )
    return Check("agent.alias", title, "high", "pass", evidence, data={"status": status, "routing": routing}, **kw)


def _agent_model(facts: Facts, model: str, kw: dict[str, Any]) -> Check:
    title = "Agent's model enabled"
    if not model:
        return Check(
            "agent.model",
            title,
            "high",
            "warn",
            "The agent has no foundation model.",
            "Set one with `aws bedrock-agent update-agent --foundation-model ...`.",
            **kw,
        )
    model_id = model.rsplit("/", 1)[-1]
    try:
        facts.client("bedrock").get_foundation_model(
            modelIdentifier=model_id.split(".", 1)[1]
            if model_id.split(".", 1)[0] in ("us", "eu", "apac", "global")
            else model_id
        )
    except Exception as exc:
        e = _err(exc, facts, "bedrock")
        return Check("agent.model", title, "high", "fail", f"{model}: {e.code}: {e.message}", e.remediation, **kw)
    if facts.options.invoke:
        try:
            facts.client("bedrock-runtime").converse(
                modelId=model,
                messages=[{"role": "user", "content": [{"text": "ok"}]}],
                inferenceConfig={"maxTokens": 1},
            )
        except Exception as exc:
            e = _err(exc, facts, "bedrock-runtime")
            return Check("agent.model", title, "high", "fail", f"{model}: {e.code}: {e.message}", e.remediation, **kw)
    fm = get_model(model_id)
    note = " (LEGACY)" if fm and fm.lifecycle == "LEGACY" else ""
    return Check(
        "agent.model",
        title,
        "high",
        "pass",
        f"{model} is available{note}" + (" and answered a 1-token Converse." if facts.options.invoke else "."),
        **kw,
    )


# -- guardrail -----------------------------------------------------------------------------------------------
def guardrail_check(facts: Facts) -> Check:
    gid, version = facts.options.guardrail_id, facts.options.guardrail_version
    kw: dict[str, Any] = {"target": gid, "region": facts.region}
    if not facts.credentials_ok:
        return skipped_without_credentials("guardrail.exists", "Guardrail exists", "high", **kw)
    try:
        args = {"guardrailIdentifier": gid, **({"guardrailVersion": version} if version else {})}
        g = facts.client("bedrock").get_guardrail(**args)
    except Exception as exc:
        e = _err(exc, facts, "bedrock")
        return Check(
            "guardrail.exists",
            "Guardrail exists",
            "high",
            "fail",
            f"{gid} {version or ''}: {e.code}: {e.message}",
            f"List guardrails: `aws bedrock list-guardrails --region {facts.region}`.",
            **kw,
        )
    status = g.get("status")
    evidence = f"{g.get('name')} version {g.get('version')} ({status})."
    ok = status == "READY"
    return Check(
        "guardrail.exists",
        "Guardrail exists",
        "high",
        "pass" if ok else "warn",
        evidence,
        "" if ok else "Wait for READY or fix the guardrail (status reasons in `aws bedrock get-guardrail`).",
        data={"version": g.get("version"), "status": status},
        **kw,
    )


# -- observability -------------------------------------------------------------------------------------------
def observability_checks(facts: Facts) -> list[Check]:
    kw: dict[str, Any] = {"region": facts.region}
    if not facts.credentials_ok:
        return [
            skipped_without_credentials("observability.invocation_logging", "Model invocation logging", "medium", **kw)
        ]
    out = []
    try:
        cfg = facts.client("bedrock").get_model_invocation_logging_configuration().get("loggingConfig")
        if cfg:
            where = ", ".join(k for k in ("cloudWatchConfig", "s3Config") if cfg.get(k))
            out.append(
                Check(
                    "observability.invocation_logging",
                    "Model invocation logging",
                    "medium",
                    "pass",
                    f"Enabled ({where}).",
                    data={"config": cfg},
                    **kw,
                )
            )
        else:
            out.append(
                Check(
                    "observability.invocation_logging",
                    "Model invocation logging",
                    "medium",
                    "warn",
                    "Model invocation logging is off: usage per caller and cost cannot be measured.",
                    "aws bedrock put-model-invocation-logging-configuration --logging-config "
                    '\'{"cloudWatchConfig":{"logGroupName":"/bedrock/invocations","roleArn":"<role>"}'
                    ',"textDataDeliveryEnabled":false}\'',
                    **kw,
                )
            )
    except Exception as exc:
        e = _err(exc, facts, "bedrock")
        out.append(
            Check(
                "observability.invocation_logging",
                "Model invocation logging",
                "medium",
                "skip",
                f"Cannot read the configuration: {e.code}: {e.message}",
                e.remediation,
                **kw,
            )
        )
    out.append(_trail(facts, kw))
    return out


def _trail(facts: Facts, kw: dict[str, Any]) -> Check:
    title = "CloudTrail trail logging"
    try:
        ct = facts.client("cloudtrail")
        trails = ct.describe_trails().get("trailList", [])
        logging = [
            t["Name"] for t in trails if ct.get_trail_status(Name=t.get("TrailARN") or t["Name"]).get("IsLogging")
        ]
    except Exception as exc:
        e = _err(exc, facts, "cloudtrail")
        return Check("observability.cloudtrail", title, "low", "skip", f"{e.code}: {e.message}", e.remediation, **kw)
    if logging:
        return Check("observability.cloudtrail", title, "low", "pass", f"Logging: {', '.join(logging)}.", **kw)
    return Check(
        "observability.cloudtrail",
        title,
        "low",
        "warn",
        f"{len(trails)} trail(s), none logging: Bedrock calls older than 90 days cannot be audited.",
        "aws cloudtrail create-trail --name bedrockctl --s3-bucket-name <bucket> --is-multi-region-trail && "
        "aws cloudtrail start-logging --name bedrockctl",
        **kw,
    )
