"""The IAM side of the budget backstop: which calls deny a principal ``bedrock:Invoke*`` until a budget window ends,
and which calls lift it. A plan is data (``IamCall``): ``--dry-run`` prints it, a real run makes exactly those calls
through ``aws_call``, so the two cannot differ.

The deny is an inline policy on the IAM user, or on the role of an assumed-role session (then scoped to that session
with ``aws:userid`` = ``<role id>:<session name>``), with an expiry condition (``aws:CurrentTime`` before the
window's end) so that it stops applying at the window's end even if nothing lifts it.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from bedrockctl.aws.errors import aws_call, error_code
from bedrockctl.errors import BedrockctlError
from bedrockctl.services.errors import BackstopTargetUnsupported

POLICY_PREFIX = "bedrockctl-backstop-"
DENIED_ACTIONS = "bedrock:Invoke*"
_USER = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:user/(?:.*/)?(?P<name>[\w+=,.@-]+)$")
_ROLE = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:role/(?:.*/)?(?P<name>[\w+=,.@-]+)$")
_SESSION = re.compile(r"^arn:aws[a-z-]*:sts::\d{12}:assumed-role/(?P<name>[\w+=,.@-]+)/(?P<session>[\w+=,.@-]+)$")


@dataclass(frozen=True)
class IamCall:
    operation: str  # PutUserPolicy | PutRolePolicy | DeleteUserPolicy | DeleteRolePolicy
    params: dict[str, str]

    def public(self) -> dict[str, Any]:
        return {"operation": self.operation, **self.params}

    def method(self) -> str:
        return re.sub(r"(?<!^)(?=[A-Z])", "_", self.operation).lower()  # PutRolePolicy -> put_role_policy

    def cli(self) -> str:
        """The same call as an AWS CLI command (what a dry run prints)."""
        parts = ["aws", "iam", self.method().replace("_", "-")]
        for key, value in self.params.items():
            flag = "--" + re.sub(r"(?<!^)(?=[A-Z])", "-", key).lower()
            parts += [flag, "'" + value.replace("'", "'\\''") + "'"]
        return " ".join(parts)


@dataclass(frozen=True)
class Target:
    kind: str  # user | role
    name: str
    session: str | None  # the role session the deny is scoped to (None: the whole user or role)


def target_of(principal_arn: str) -> Target:
    """The IAM entity a deny policy is attached to for ``principal_arn``."""
    m = _SESSION.match(principal_arn)
    if m:
        return Target("role", m.group("name"), m.group("session"))
    m = _USER.match(principal_arn)
    if m:
        return Target("user", m.group("name"), None)
    m = _ROLE.match(principal_arn)
    if m:
        return Target("role", m.group("name"), None)
    raise BackstopTargetUnsupported(
        f"{principal_arn}: the backstop can deny IAM users and role sessions only (not root or federated users)",
        details={"principal": principal_arn},
    )


def policy_name(environment: str, window: str, principal_arn: str) -> str:
    digest = hashlib.sha256(f"{environment}|{window}|{principal_arn}".encode()).hexdigest()[:16]
    return f"{POLICY_PREFIX}{digest}"


def deny_document(target: Target, until: datetime) -> dict[str, Any]:
    condition: dict[str, Any] = {
        "DateLessThan": {"aws:CurrentTime": until.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")}
    }
    if target.session is not None:
        condition["StringLike"] = {"aws:userid": f"*:{target.session}"}
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "BedrockctlBudgetBackstop",
                "Effect": "Deny",
                "Action": DENIED_ACTIONS,
                "Resource": "*",
                "Condition": condition,
            }
        ],
    }


def deny_calls(environment: str, window: str, principal_arn: str, until: datetime) -> list[IamCall]:
    target = target_of(principal_arn)
    doc = json.dumps(deny_document(target, until), separators=(",", ":"), sort_keys=True)
    name = policy_name(environment, window, principal_arn)
    if target.kind == "user":
        return [IamCall("PutUserPolicy", {"UserName": target.name, "PolicyName": name, "PolicyDocument": doc})]
    return [IamCall("PutRolePolicy", {"RoleName": target.name, "PolicyName": name, "PolicyDocument": doc})]


def release_calls(calls: list[dict[str, Any]]) -> list[IamCall]:
    """The calls that undo recorded deny calls (a deleted policy for each one put)."""
    out = []
    for call in calls:
        if call.get("operation") == "PutUserPolicy":
            out.append(IamCall("DeleteUserPolicy", {"UserName": call["UserName"], "PolicyName": call["PolicyName"]}))
        elif call.get("operation") == "PutRolePolicy":
            out.append(IamCall("DeleteRolePolicy", {"RoleName": call["RoleName"], "PolicyName": call["PolicyName"]}))
    return out


def perform(iam: Any, calls: list[IamCall]) -> None:
    """Make ``calls`` in order; a policy already gone counts as deleted (raises ``BedrockctlError`` otherwise)."""
    for call in calls:
        try:
            aws_call(getattr(iam, call.method()), service="iam", **call.params)
        except BedrockctlError as exc:
            if call.operation.startswith("Delete") and error_code(exc) == "NoSuchEntity":
                continue
            raise
