"""Normalise AWS identities into the person or workload behind them.

- IAM user ``arn:aws:iam::1:user/path/bob`` -> ``bob`` (``IAMUser``)
- IAM Identity Center ``assumed-role/AWSReservedSSO_<PermissionSet>_<hash>/alice@example.com`` -> ``alice@example.com``
  (``SSOUser``, permission set noted)
- other assumed-role sessions ``assumed-role/ci-runner/build-4711`` -> ``ci-runner/build-4711`` (``AssumedRole``)
- ``federated-user/carol`` -> ``carol`` (``FederatedUser``); ``root`` -> ``root`` (``Root``)
- a CloudTrail ``userIdentity`` with ``onBehalfOf`` (identity-enhanced sessions) names the Identity Center user.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

_SSO_ROLE = re.compile(r"^AWSReservedSSO_(?P<ps>.+)_[0-9a-f]{16}$")


@dataclass(frozen=True)
class Principal:
    principal: str
    principal_type: str
    permission_set: str | None = None


@lru_cache(maxsize=65536)
def normalise_arn(arn: str | None) -> Principal:
    if not arn:
        return Principal("unknown", "Unknown")
    parts = arn.split(":", 5)
    if len(parts) < 6:
        return Principal(arn, "Unknown")
    service, resource = parts[2], parts[5]
    if resource == "root":
        return Principal("root", "Root")
    kind, _, rest = resource.partition("/")
    if service == "iam" and kind == "user":
        return Principal(rest.rsplit("/", 1)[-1], "IAMUser")
    if service == "sts" and kind == "assumed-role":
        role, _, session = rest.partition("/")
        m = _SSO_ROLE.match(role)
        if m and session:
            return Principal(session, "SSOUser", m.group("ps"))
        return Principal(f"{role}/{session}" if session else role, "AssumedRole")
    if service == "sts" and kind == "federated-user":
        return Principal(rest, "FederatedUser")
    if service == "iam" and kind == "role":
        return Principal(rest.rsplit("/", 1)[-1], "Role")
    return Principal(resource, kind or "Unknown")


def normalise_user_identity(ident: dict[str, Any] | None) -> Principal:
    """A CloudTrail ``userIdentity`` block -> ``Principal``."""
    if not ident:
        return Principal("unknown", "Unknown")
    p = normalise_arn(ident.get("arn"))
    on_behalf = ident.get("onBehalfOf") or {}
    if on_behalf.get("userId"):
        return Principal(str(on_behalf["userId"]), "SSOUser", p.permission_set)
    if not ident.get("arn"):
        kind = str(ident.get("type") or "Unknown")
        name = ident.get("userName") or ident.get("principalId") or ident.get("invokedBy") or "unknown"
        return Principal(str(name), kind)
    return p
