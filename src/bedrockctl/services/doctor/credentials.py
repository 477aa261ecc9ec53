"""Credential checks: source, identity, temporary-credential expiry, SSO token expiry, role assumption.

They run first and in order (every other check needs working credentials); they fill ``Facts``.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from bedrockctl.aws.errors import translate
from bedrockctl.errors import (
    AssumeRoleFailed,
    BedrockctlError,
    ExpiredCredentials,
    SSOTokenExpired,
)
from bedrockctl.services.doctor.model import Check, Facts, Timer

EXPIRY_WARN = timedelta(minutes=15)
SSO_WARN = timedelta(hours=1)


def _as_error(exc: BaseException) -> BedrockctlError:
    return translate(exc)


def _sso_cache_expiry(facts: Facts) -> datetime | None:
    profile = facts.sessions.settings.profile or facts.env.get("AWS_PROFILE")
    if not profile:
        return None
    from bedrockctl.aws.sso import profile_sso_expiry

    return profile_sso_expiry(profile)


def _left(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    return f"{minutes // 60}h{minutes % 60:02d}m" if minutes >= 60 else f"{minutes} min"


def credential_phase(facts: Facts) -> list[Check]:
    settings = facts.sessions.settings
    role_configured = bool(settings.role_arn or settings.role_chain)
    t = Timer()
    try:
        facts.provenance = facts.sessions.provenance()
    except Exception as exc:
        facts.credential_error = _as_error(exc)
    source = _source_check(facts, t.ms())
    t = Timer()
    if facts.provenance is not None:
        try:
            facts.identity = facts.sessions.identity()
        except Exception as exc:
            facts.credential_error = _as_error(exc)
    checks = [source, _identity_check(facts, t.ms()), _expiry_check(facts), _sso_check(facts)]
    checks.append(_role_check(facts, role_configured))
    return checks


def _source_check(facts: Facts, ms: int) -> Check:
    title = "Credential source"
    p = facts.provenance
    if p is None:
        e = facts.credential_error or BedrockctlError("unknown")
        return Check(
            "credentials.source",
            title,
            "critical",
            "fail",
            f"{e.code}: {e.message}",
            e.remediation,
            duration_ms=ms,
            data={"error_code": e.code},
        )
    evidence = f"{p.source_label} (method {p.source}); access key {p.access_key_id}"
    if p.profile:
        evidence += f"; profile {p.profile}"
    if p.base_source:
        evidence += f"; base credentials from {p.base_source}"
    return Check("credentials.source", title, "critical", "pass", evidence, duration_ms=ms, data=p.to_dict())


def _identity_check(facts: Facts, ms: int) -> Check:
    title = "Caller identity (sts:GetCallerIdentity)"
    ident = facts.identity
    if ident is not None:
        return Check(
            "credentials.identity",
            title,
            "critical",
            "pass",
            f"account {ident.account}, {ident.principal_type} {ident.arn}",
            duration_ms=ms,
            data={"account": ident.account, "arn": ident.arn, "principal_type": ident.principal_type},
        )
    if facts.provenance is None:
        return Check(
            "credentials.identity",
            title,
            "critical",
            "skip",
            "Skipped: no credentials resolved.",
            "Fix credentials.source first.",
        )
    e = facts.credential_error or BedrockctlError("unknown")
    return Check(
        "credentials.identity",
        title,
        "critical",
        "fail",
        f"{e.code}: {e.message}",
        e.remediation,
        duration_ms=ms,
        data={"error_code": e.code},
    )


def _expiry_check(facts: Facts) -> Check:
    title = "Temporary credential expiry"
    err = facts.credential_error
    if isinstance(err, ExpiredCredentials):
        return Check("credentials.expiry", title, "critical", "fail", err.message, err.remediation)
    p = facts.provenance
    if p is None:
        return Check("credentials.expiry", title, "high", "skip", "Skipped: no credentials resolved.")
    if p.expiry is None:
        return Check("credentials.expiry", title, "high", "pass", "Long-term credentials: no expiry.")
    left = p.expiry - facts.now()
    data = {"expiry": p.expiry.isoformat(), "seconds_left": int(left.total_seconds())}
    if left <= timedelta(0):
        return Check(
            "credentials.expiry",
            title,
            "critical",
            "fail",
            f"Expired at {p.expiry.isoformat()}.",
            ExpiredCredentials.default_remediation,
            data=data,
        )
    if left < EXPIRY_WARN and p.source not in ("bedrockctl-assume-role", "sso", "assume-role"):
        return Check(
            "credentials.expiry",
            title,
            "high",
            "warn",
            f"Expires at {p.expiry.isoformat()} (in {_left(left)}) and cannot refresh itself.",
            ExpiredCredentials.default_remediation,
            data=data,
        )
    return Check(
        "credentials.expiry", title, "high", "pass", f"Expires at {p.expiry.isoformat()} (in {_left(left)}).", data=data
    )


def _sso_check(facts: Facts) -> Check:
    title = "SSO (IAM Identity Center) token"
    err = facts.credential_error
    profile = facts.sessions.settings.profile or facts.env.get("AWS_PROFILE") or "<profile>"
    fix = f"aws sso login --profile {profile}"
    if isinstance(err, SSOTokenExpired):
        cached = _sso_cache_expiry(facts)
        when = f" (cached token expired at {cached.isoformat()})" if cached else ""
        return Check(
            "credentials.sso",
            title,
            "critical",
            "fail",
            f"{err.message}{when}",
            f"Run `{fix}`.",
            data={"sso_token_expiry": cached.isoformat() if cached else None},
        )
    p = facts.provenance
    expiry = p.sso_token_expiry if p is not None else None
    if expiry is None:
        return Check("credentials.sso", title, "medium", "skip", "Not an SSO profile.")
    left = expiry - facts.now()
    data = {"sso_token_expiry": expiry.isoformat()}
    if left <= timedelta(0):
        return Check(
            "credentials.sso",
            title,
            "critical",
            "fail",
            f"The SSO token expired at {expiry.isoformat()}.",
            f"Run `{fix}`.",
            data=data,
        )
    if left < SSO_WARN:
        return Check(
            "credentials.sso",
            title,
            "medium",
            "warn",
            f"The SSO token expires at {expiry.isoformat()} (in {_left(left)}).",
            f"Run `{fix}` soon.",
            data=data,
        )
    return Check("credentials.sso", title, "medium", "pass", f"SSO token valid until {expiry.isoformat()}.", data=data)


def _role_check(facts: Facts, configured: bool) -> Check:
    title = "Role assumption (trust policy, external id)"
    err = facts.credential_error
    if isinstance(err, AssumeRoleFailed):
        return Check(
            "credentials.role",
            title,
            "critical",
            "fail",
            err.message,
            err.remediation + " Check with `aws iam get-role --role-name <name> --query "
            "Role.AssumeRolePolicyDocument`.",
            data=dict(err.details),
        )
    if not configured:
        return Check("credentials.role", title, "medium", "skip", "No role assumption configured (role_arn).")
    p = facts.provenance
    if p is None:
        return Check("credentials.role", title, "high", "skip", "Skipped: no credentials resolved.")
    ext = " with an external id" if p.external_id_used else ""
    return Check(
        "credentials.role",
        title,
        "high",
        "pass",
        f"Assumed {' -> '.join(p.roles)}{ext}.",
        data={"roles": p.roles, "external_id_used": p.external_id_used},
    )
