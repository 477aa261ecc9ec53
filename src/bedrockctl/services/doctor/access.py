"""Access hygiene: the age and last use of the access key in use, long-term Bedrock API keys, and who may call
Bedrock with an API key (``bedrock:CallWithBearerToken``).

- ``access.key_age``: for a long-term key (``AKIA...``), ``iam:GetAccessKeyLastUsed`` names its user and last use
  and ``iam:ListAccessKeys`` its creation date; older than ``KEY_AGE_WARN_DAYS`` warns. Temporary credentials
  (roles, SSO) have no age to check.
- ``access.api_keys``: ``iam:ListServiceSpecificCredentials`` for ``bedrock.amazonaws.com`` across all users: each
  active long-term Bedrock API key with its age and expiry; one older than the limit, or that never expires,
  warns (AWS recommends short-term keys).
- ``access.bearer_principals``: ``iam:SimulatePrincipalPolicy`` for ``bedrock:CallWithBearerToken`` on the caller
  and on every user holding a Bedrock API key: who may call Bedrock with one.

A check the caller is not allowed to run is skipped with the permission it lacks, never failed.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bedrockctl.aws.errors import error_code, translate
from bedrockctl.redact import mask_key_id
from bedrockctl.services.doctor.model import Check, Facts, skipped_without_credentials

KEY_AGE_WARN_DAYS = 90
BEDROCK_SERVICE = "bedrock.amazonaws.com"
MAX_SIMULATED = 20  # principals simulated per run (SimulatePrincipalPolicy is throttled)
_DENIED = ("AccessDenied", "AccessDeniedException", "UnauthorizedOperation")


def access_checks(facts: Facts) -> list[Check]:
    if not facts.credentials_ok:
        return [
            skipped_without_credentials("access.key_age", "Access key age", "medium"),
            skipped_without_credentials("access.api_keys", "Bedrock API keys", "medium"),
        ]
    iam = facts.client("iam")
    keys_check, holders = _api_keys_check(facts, iam)
    return [_key_age_check(facts, iam), keys_check, _bearer_check(facts, iam, holders)]


def _skip(check_id: str, title: str, exc: BaseException, needs: str) -> Check:
    err = translate(exc, service="iam")
    if error_code(exc) in _DENIED:
        evidence = f"Not allowed to call {needs}: {err.message}"
        return Check(check_id, title, "medium", "skip", evidence, f"Grant {needs} to run this check.")
    return Check(check_id, title, "medium", "skip", f"{err.code}: {err.message}", err.remediation)


def _days(now: datetime, then: datetime) -> int:
    return (now - then).days


def _key_age_check(facts: Facts, iam: Any) -> Check:
    check_id, title = "access.key_age", "Access key age"
    frozen = facts.sessions.session().get_credentials().get_frozen_credentials()
    key_id = str(frozen.access_key)
    shown = mask_key_id(key_id) or "?"
    if not key_id.startswith("AKIA"):
        evidence = f"Temporary credentials ({shown}): they expire by themselves; no long-term key to age."
        return Check(check_id, title, "medium", "pass", evidence, data={"long_term": False})
    try:
        used = iam.get_access_key_last_used(AccessKeyId=key_id)
        user = used.get("UserName")
        listed = iam.list_access_keys(UserName=user)["AccessKeyMetadata"] if user else []
    except Exception as exc:
        if error_code(exc) in ("NoSuchEntity", "NoSuchEntityException"):
            evidence = f"{shown} is not an IAM user's key in this account: its age cannot be read."
            return Check(check_id, title, "medium", "skip", evidence)
        return _skip(check_id, title, exc, "iam:GetAccessKeyLastUsed and iam:ListAccessKeys")
    created = next((k["CreateDate"] for k in listed if k.get("AccessKeyId") == key_id), None)
    last = (used.get("AccessKeyLastUsed") or {}).get("LastUsedDate")
    now = facts.now()
    data: dict[str, Any] = {"long_term": True, "user": user, "key": shown}
    if created is None:
        return Check(check_id, title, "medium", "skip", f"{shown} of {user}: no creation date listed.", data=data)
    age = _days(now, created)
    data.update(age_days=age, created=created.isoformat(), last_used=last.isoformat() if last else None)
    used_text = f"last used {_days(now, last)} days ago" if last else "never used before"
    evidence = f"{shown} of IAM user {user}: {age} days old, {used_text}."
    if age > KEY_AGE_WARN_DAYS:
        remediation = (
            f"Rotate it: `aws iam create-access-key --user-name {user}`, switch your profile to the new key, then "
            f"`aws iam update-access-key --user-name {user} --access-key-id <old> --status Inactive`; better, use "
            "IAM Identity Center (SSO) or a role."
        )
        evidence += f" Older than {KEY_AGE_WARN_DAYS} days."
        return Check(check_id, title, "medium", "warn", evidence, remediation, data=data)
    return Check(check_id, title, "medium", "pass", evidence, data=data)


def _api_keys_check(facts: Facts, iam: Any) -> tuple[Check, list[str]]:
    check_id, title = "access.api_keys", "Long-term Bedrock API keys"
    try:
        found = iam.list_service_specific_credentials(AllUsers=True, ServiceName=BEDROCK_SERVICE)
    except Exception as exc:
        return _skip(check_id, title, exc, "iam:ListServiceSpecificCredentials"), []
    now = facts.now()
    keys = [c for c in found.get("ServiceSpecificCredentials", []) if c.get("Status") == "Active"]
    rows = []
    risky = []
    for cred in keys:
        expires = cred.get("ExpirationDate")
        row = {
            "user": cred["UserName"],
            "id": cred["ServiceSpecificCredentialId"],
            "age_days": _days(now, cred["CreateDate"]),
            "expires": expires.isoformat() if expires else None,
        }
        rows.append(row)
        if expires is None or row["age_days"] > KEY_AGE_WARN_DAYS:
            risky.append(row)
    holders = sorted({r["user"] for r in rows})
    data = {"keys": rows}
    if not rows:
        return Check(check_id, title, "medium", "pass", "No active long-term Bedrock API key.", data=data), holders
    listing = "; ".join(
        f"{r['user']} ({r['id']}): {r['age_days']} days, "
        + (f"expires {r['expires']}" if r["expires"] else "never expires")
        for r in rows
    )
    if risky:
        remediation = (
            "Prefer short-term API keys (they last at most 12 hours); delete old keys with "
            "`aws iam delete-service-specific-credential --user-name <user> --service-specific-credential-id <id>`."
        )
        evidence = f"{len(risky)} of {len(rows)} long-term keys never expire or are over {KEY_AGE_WARN_DAYS} days old"
        return Check(check_id, title, "medium", "warn", f"{evidence}: {listing}", remediation, data=data), holders
    return Check(check_id, title, "medium", "pass", f"{len(rows)} active: {listing}", data=data), holders


def _bearer_check(facts: Facts, iam: Any, holders: list[str]) -> Check:
    check_id, title = "access.bearer_principals", "Who may call Bedrock with an API key"
    identity = facts.identity
    principals: list[str] = []
    if identity is not None:
        principals.append(_principal_arn(identity.arn))
    account = identity.account if identity is not None else "*"
    principals += [f"arn:aws:iam::{account}:user/{user}" for user in holders]
    principals = list(dict.fromkeys(principals))[:MAX_SIMULATED]
    allowed: list[str] = []
    denied: list[str] = []
    for arn in principals:
        try:
            result = iam.simulate_principal_policy(PolicySourceArn=arn, ActionNames=["bedrock:CallWithBearerToken"])
        except Exception as exc:
            if error_code(exc) in ("NoSuchEntity", "NoSuchEntityException"):
                continue  # not an IAM principal of this account (e.g. the root user): nothing to simulate
            return _skip(check_id, title, exc, "iam:SimulatePrincipalPolicy")
        decision = result["EvaluationResults"][0]["EvalDecision"]
        (allowed if decision == "allowed" else denied).append(arn)
    data = {"allowed": allowed, "denied": denied}
    evidence = f"bedrock:CallWithBearerToken allowed for {', '.join(allowed) or 'none'} of {len(principals)} checked."
    holders_allowed = [a for a in allowed if a.split("/")[-1] in holders]
    if holders_allowed:
        remediation = (
            "Deny long-term keys where they are not needed: `bedrockctl policy --features invoke "
            "--bearer-token-type short-term` (or none) generates the statement."
        )
        evidence += " Holders of long-term keys may use them."
        return Check(check_id, title, "low", "warn", evidence, remediation, data=data)
    return Check(check_id, title, "low", "pass", evidence, data=data)


def _principal_arn(arn: str) -> str:
    """The IAM principal of a caller ARN (an assumed-role session is simulated as its role)."""
    if ":assumed-role/" in arn:
        account = arn.split(":")[4]
        role = arn.split("/")[1]
        return f"arn:aws:iam::{account}:role/{role}"
    return arn
