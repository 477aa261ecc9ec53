"""The budget backstop in the sandbox with IAM enforcement on: a role session calling Bedrock directly (not through
the gateway) past its environment's budget is denied bedrock:Invoke* by an inline policy scoped to that session and
expiring at the window's end; it is allowed again at the next window's start (the test owns the backstop's clock) or
after ``budget release``; the dry run shows exactly the IAM calls the real run makes."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from typer.testing import CliRunner

from bedrockctl.aws.session import SessionFactory
from bedrockctl.config import load_settings
from bedrockctl.services.backstop import Backstop, release_matching, windows
from bedrockctl.services.backstop_iam import deny_calls, release_calls
from bedrockctl.services.jobs import backstop_for, run_ingest
from bedrockctl.settings import EnvironmentSettings
from bedrockctl.store.gateway import open_engine

ACCOUNT = "123456789012"
HAIKU = "anthropic.claude-3-haiku-20240307-v1:0"
GROUP = "/bedrock/invocations"
TRUST = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "sts:AssumeRole"}
        ],
    }
)
INVOKE = json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "bedrock:Invoke*", "Resource": "*"}]}
)
MESSAGES = [{"role": "user", "content": [{"text": "hello"}]}]


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


def outside_month_end(margin: float = 120.0) -> None:
    """Wait until no month ends within ``margin`` seconds: the sandbox keeps the real clock for aws:CurrentTime, so
    the calls and the evaluation must fall in one monthly window."""
    while datetime.now(UTC).month != datetime.fromtimestamp(time.time() + margin, UTC).month:
        time.sleep(1.0)


@pytest.fixture
def estate(tmp_path: Path, sandbox_env: Any, boto_client: Callable[..., Any], sandbox_admin: Any) -> dict[str, Any]:
    """A role ``batch`` allowed bedrock:Invoke*, invocation logging to CloudWatch, IAM enforcement on, and a config
    whose environment ``batch`` (budget: a millionth of a dollar) bills the role's direct calls and denies them."""
    outside_month_end()
    iam = boto_client("iam")
    iam.create_role(RoleName="batch", AssumeRolePolicyDocument=TRUST)
    iam.put_role_policy(RoleName="batch", PolicyName="invoke", PolicyDocument=INVOKE)
    iam.create_user(UserName="carol")
    iam.put_user_policy(UserName="carol", PolicyName="invoke", PolicyDocument=INVOKE)
    boto_client("logs").create_log_group(logGroupName=GROUP)
    boto_client("bedrock").put_model_invocation_logging_configuration(
        loggingConfig={
            "cloudWatchConfig": {"logGroupName": GROUP, "roleArn": f"arn:aws:iam::{ACCOUNT}:role/bedrock-logging"},
            "textDataDeliveryEnabled": False,
        }
    )
    sandbox_admin.set_faults({"iam_enforcement": True})
    cfg = tmp_path / "bedrockctl.toml"
    cfg.write_text(f"""
[aws]
region = "us-east-1"
retry_attempts = 1

[store]
data_dir = "{tmp_path / "data"}"

[environments.batch]
monthly_budget_usd = 0.000001
backstop_action = "deny"
principals = ["arn:aws:sts::{ACCOUNT}:assumed-role/batch/*", "arn:aws:iam::{ACCOUNT}:user/carol"]

[jobs]
ingest_sources = ["cloudwatch:{GROUP}"]
""")
    settings = load_settings(config_path=cfg, cwd=tmp_path)
    return {"settings": settings, "config": cfg, "iam": iam}


def _runtime(boto_client: Callable[..., Any], creds: dict[str, str]) -> Any:
    return boto_client("bedrock-runtime", **creds)


def _session(boto_client: Callable[..., Any], name: str) -> dict[str, str]:
    c = boto_client("sts").assume_role(RoleArn=f"arn:aws:iam::{ACCOUNT}:role/batch", RoleSessionName=name)
    c = c["Credentials"]
    return {
        "aws_access_key_id": c["AccessKeyId"],
        "aws_secret_access_key": c["SecretAccessKey"],
        "aws_session_token": c["SessionToken"],
    }


def _allowed(rt: Any) -> bool:
    try:
        rt.converse(modelId=HAIKU, messages=MESSAGES)
    except ClientError as exc:
        assert exc.response["Error"]["Code"] == "AccessDeniedException"
        assert "explicit deny" in exc.response["Error"]["Message"]
        return False
    return True


def _backstop(estate: dict[str, Any], engine: Any, clock: Clock) -> Backstop:
    settings = estate["settings"]
    return backstop_for(settings, engine, SessionFactory(settings.aws), clock=clock)  # type: ignore[no-any-return]


def test_session_denied_past_budget_and_released_at_the_next_window(
    estate: dict[str, Any], boto_client: Callable[..., Any]
) -> None:
    settings = estate["settings"]
    nightly = _runtime(boto_client, _session(boto_client, "nightly"))
    other = _runtime(boto_client, _session(boto_client, "interactive"))
    assert _allowed(nightly)  # a direct call, logged to CloudWatch by the sandbox
    assert run_ingest(settings, SessionFactory(settings.aws))["new_invocations"] == 1
    engine = open_engine(settings)
    clock = Clock()
    backstop = _backstop(estate, engine, clock)

    planned = backstop.evaluate(dry_run=True)
    (budget,) = planned.budgets
    assert budget["tripped"] and budget["gateway_usd"] == "0" and budget["direct_usd"] != "0"
    (plan,) = planned.actions
    principal = f"arn:aws:sts::{ACCOUNT}:assumed-role/batch/nightly"
    assert plan["principal"] == principal and [c["operation"] for c in plan["calls"]] == ["PutRolePolicy"]
    assert _allowed(nightly)  # a dry run changes nothing

    done = backstop.evaluate()
    (act,) = done.actions
    assert act["calls"] == plan["calls"] and act["commands"] == plan["commands"] and not act["error"]
    call = act["calls"][0]
    stored = estate["iam"].get_role_policy(RoleName="batch", PolicyName=call["PolicyName"])["PolicyDocument"]
    assert stored == json.loads(call["PolicyDocument"])
    window = windows(settings.environments["batch"], clock.now)[0]
    assert stored["Statement"][0]["Condition"] == {
        "DateLessThan": {"aws:CurrentTime": window.end.strftime("%Y-%m-%dT%H:%M:%SZ")},
        "StringLike": {"aws:userid": "*:nightly"},
    }
    assert not _allowed(nightly)  # the principal's next call is denied
    assert _allowed(other)  # another session of the same role is not
    assert backstop.evaluate().actions == []  # once per window

    clock.now = window.end  # the next window starts: the denial is lifted
    lifted = backstop.evaluate()
    assert [r["principal"] for r in lifted.released] == [principal]
    assert [c["operation"] for c in lifted.released[0]["calls"]] == ["DeleteRolePolicy"]
    assert _allowed(nightly)
    (record,) = backstop.ledger.list()
    assert record.status == "released" and record.released_by == "window-end"
    assert [c["operation"] for c in record.calls] == ["PutRolePolicy", "DeleteRolePolicy"]
    engine.dispose()


def test_release_by_command_and_the_dry_run_prints_the_calls(
    estate: dict[str, Any], boto_client: Callable[..., Any]
) -> None:
    settings, iam = estate["settings"], estate["iam"]
    key = iam.create_access_key(UserName="carol")["AccessKey"]
    carol = _runtime(
        boto_client, {"aws_access_key_id": key["AccessKeyId"], "aws_secret_access_key": key["SecretAccessKey"]}
    )
    assert _allowed(carol)
    run_ingest(settings, SessionFactory(settings.aws))
    from bedrockctl.cli.main import app

    runner = CliRunner()
    env = {"BEDROCKCTL_CONFIG": str(estate["config"])}
    dry = runner.invoke(app, ["budget", "backstop", "--dry-run", "--output", "json"], env=env)
    assert dry.exit_code == 0, dry.output
    (planned,) = json.loads(dry.stdout)["actions"]
    assert planned["calls"][0]["operation"] == "PutUserPolicy" and planned["calls"][0]["UserName"] == "carol"
    shown = runner.invoke(app, ["budget", "backstop", "--dry-run"], env=env)
    assert planned["commands"][0].startswith("aws iam put-user-policy --user-name 'carol' --policy-name")
    assert planned["commands"][0] in shown.stdout.replace("\n", "")  # the table view prints the exact call too
    assert _allowed(carol)

    real = runner.invoke(app, ["budget", "backstop", "--output", "json"], env=env)
    assert real.exit_code == 0, real.output
    (act,) = json.loads(real.stdout)["actions"]
    assert act["calls"] == planned["calls"]
    assert not _allowed(carol)
    jobs = json.loads(runner.invoke(app, ["jobs", "--output", "json"], env=env).stdout)
    assert [a["principal"] for a in jobs["backstop"]] == [f"arn:aws:iam::{ACCOUNT}:user/carol"]

    dry_release = json.loads(runner.invoke(app, ["budget", "release", "--dry-run", "--output", "json"], env=env).stdout)
    assert [c["operation"] for c in dry_release["released"][0]["calls"]] == ["DeleteUserPolicy"]
    assert not _allowed(carol)
    released = json.loads(runner.invoke(app, ["budget", "release", "--output", "json"], env=env).stdout)
    assert released["released"][0]["calls"] == dry_release["released"][0]["calls"]
    assert _allowed(carol)
    again = json.loads(runner.invoke(app, ["budget", "backstop", "--output", "json"], env=env).stdout)
    assert again["actions"] == [] and again["budgets"][0]["tripped"]  # released by hand: not denied again this window
    assert _allowed(carol)


def test_alert_only_is_the_default(estate: dict[str, Any], boto_client: Callable[..., Any]) -> None:
    settings = estate["settings"]
    assert EnvironmentSettings(name="any").backstop_action == "alert"
    settings.environments["batch"].backstop_action = "alert"
    nightly = _runtime(boto_client, _session(boto_client, "nightly"))
    assert _allowed(nightly)
    run_ingest(settings, SessionFactory(settings.aws))
    engine = open_engine(settings)
    backstop = _backstop(estate, engine, Clock())
    (act,) = backstop.evaluate().actions
    assert act["action"] == "alert" and act["calls"] == []
    assert _allowed(nightly)
    assert [a.status for a in backstop.ledger.list()] == ["alerted"]
    assert release_matching(backstop, environment=None, principal=None, dry_run=False) == []
    engine.dispose()


def test_policy_feature_backstop_allows_exactly_its_calls(boto_client: Callable[..., Any]) -> None:
    from bedrockctl.services.policy import build_policy

    iam = boto_client("iam")
    arn = iam.create_user(UserName="scheduler")["User"]["Arn"]
    policy = build_policy("backstop", account_id=ACCOUNT).to_json()
    iam.put_user_policy(UserName="scheduler", PolicyName="backstop", PolicyDocument=policy)
    calls = deny_calls("batch", "m2026-12", f"arn:aws:sts::{ACCOUNT}:assumed-role/batch/nightly", datetime.now(UTC))
    users = deny_calls("batch", "m2026-12", f"arn:aws:iam::{ACCOUNT}:user/carol", datetime.now(UTC))
    lifts = release_calls([c.public() for c in (*calls, *users)])
    wanted = {f"iam:{c.operation}" for c in (*calls, *users, *lifts)}
    assert wanted == {"iam:PutRolePolicy", "iam:PutUserPolicy", "iam:DeleteRolePolicy", "iam:DeleteUserPolicy"}
    resources = [f"arn:aws:iam::{ACCOUNT}:role/batch", f"arn:aws:iam::{ACCOUNT}:user/carol"]
    answer = iam.simulate_principal_policy(PolicySourceArn=arn, ActionNames=sorted(wanted), ResourceArns=resources)
    assert {r["EvalDecision"] for r in answer["EvaluationResults"]} == {"allowed"}
    other = iam.simulate_principal_policy(
        PolicySourceArn=arn, ActionNames=["iam:PutRolePolicy"], ResourceArns=["arn:aws:iam::210987654321:role/batch"]
    )
    assert other["EvaluationResults"][0]["EvalDecision"] == "implicitDeny"  # another account: not granted
