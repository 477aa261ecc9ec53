"""Who signed a request: the Caller derived from the access key, as AWS (and CloudTrail) would record it.

Keys moto issued are looked up in moto's IAM and STS backends (in-process): an IAM user's key gives an
``IAMUser``; a temporary key from ``sts:AssumeRole`` gives an ``AssumedRole`` with its session issuer (roles
named ``AWSReservedSSO_*`` are IAM Identity Center sessions and carry the ``aws-reserved/sso.amazonaws.com/``
path). Any other key is the default IAM user ``moto`` of the default account (``MOTO_ACCOUNT_ID`` or
123456789012) — the account moto itself uses for unknown keys.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
import urllib.parse
from datetime import UTC, datetime
from typing import Any

from bedrockctl.sandbox.core import Caller

DEFAULT_ACCOUNT_ID = "123456789012"
DEFAULT_USER = "moto"
SSO_PATH = "aws-reserved/sso.amazonaws.com/"

_CRED_RE = re.compile(r"Credential=([^/,\s]+)/(\d{8})/([^/]+)/([^/]+)/aws4_request")


def default_account_id() -> str:
    return os.environ.get("MOTO_ACCOUNT_ID", DEFAULT_ACCOUNT_ID)


def _stable_id(prefix: str, seed: str) -> str:
    digest = hashlib.sha256(seed.encode()).digest()
    return prefix + base64.b32encode(digest).decode()[:17]


def parse_credential_scope(authorization: str) -> tuple[str, str, str] | None:
    """``(access_key_id, region, service)`` from a SigV4 ``Authorization`` header or ``X-Amz-Credential``."""
    m = _CRED_RE.search(authorization)
    if m:
        return m.group(1), m.group(3), m.group(4)
    parts = authorization.split("/")
    if len(parts) == 5 and parts[4] == "aws4_request":  # presigned X-Amz-Credential value
        return parts[0], parts[2], parts[3]
    return None


def access_key_from_bearer(token: str) -> tuple[str, str] | None:
    """Short-term Bedrock API keys (``bedrock-api-key-<base64 presigned URL>``) carry the signer's key id; a
    long-term key (``ABSK...``, an IAM service-specific credential) stands for its credential id."""
    if token.startswith("ABSK"):
        from bedrockctl.sandbox.iam_api_keys import find_key

        found = find_key(token)
        return (found[1].credential_id, "") if found else None
    if not token.startswith("bedrock-api-key-"):
        return None
    raw = token[len("bedrock-api-key-") :]
    try:
        url = base64.b64decode(raw + "=" * (-len(raw) % 4)).decode()
    except (ValueError, UnicodeDecodeError):
        return None
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(url if "://" in url else "https://" + url).query)
    cred = (query.get("X-Amz-Credential") or [""])[0]
    scope = parse_credential_scope(cred)
    return (scope[0], scope[1]) if scope else None


def default_caller(access_key_id: str = "", account_id: str | None = None) -> Caller:
    account = account_id or default_account_id()
    return Caller(
        account_id=account,
        arn=f"arn:aws:iam::{account}:user/{DEFAULT_USER}",
        principal_type="IAMUser",
        principal_id=_stable_id("AIDA", f"{account}:{DEFAULT_USER}"),
        access_key_id=access_key_id,
        user_name=DEFAULT_USER,
    )


def _role_arn(account_id: str, role_name: str, moto_role_arn: str | None) -> str:
    if moto_role_arn:
        return moto_role_arn
    path = SSO_PATH if role_name.startswith("AWSReservedSSO_") else ""
    return f"arn:aws:iam::{account_id}:role/{path}{role_name}"


def session_created(access_key_id: str) -> datetime | None:
    """When the temporary credentials of ``access_key_id`` were issued (for ``sessionContext``)."""
    from moto.sts.models import sts_backends

    for account_id in list(sts_backends.keys()):
        backend = sts_backends[account_id].get("aws")
        if backend is None:
            continue
        role = backend.get_assumed_role_from_access_key(access_key_id)
        if role is not None:
            created = role.access_key.create_date
            return created if created.tzinfo else created.replace(tzinfo=UTC)
    return None


def session_expiration(access_key_id: str) -> datetime | None:
    """When the temporary credentials of ``access_key_id`` (from sts:AssumeRole*) expire, if moto issued them."""
    if not access_key_id.startswith("ASIA"):
        return None
    from moto.sts.models import sts_backends

    for account_id in list(sts_backends.keys()):
        backend = sts_backends[account_id].get("aws")
        role = backend.get_assumed_role_from_access_key(access_key_id) if backend is not None else None
        if role is not None:
            expires: datetime = role.expiration
            return expires if expires.tzinfo else expires.replace(tzinfo=UTC)
    return None


def credentials_expired(access_key_id: str, now: datetime | None = None) -> bool:
    """Are the temporary credentials of ``access_key_id`` past the ``Expiration`` STS gave them?"""
    expires = session_expiration(access_key_id)
    return expires is not None and expires <= (now or datetime.now(UTC))


def caller_for_request(access_key_id: str, account_header: str | None) -> Caller:
    """The Caller, attributed to the account moto would use: ``MOTO_ACCOUNT_ID``, else the
    ``x-moto-account-id`` header, else the key's account. A key of another account than that one (or an
    unknown key) is the default user of that account."""
    forced = os.environ.get("MOTO_ACCOUNT_ID") or account_header
    caller = caller_from_access_key(access_key_id)
    if forced and caller.account_id != forced:
        return default_caller(access_key_id, forced)
    return caller


def caller_from_access_key(access_key_id: str) -> Caller:
    """Derive the Caller for ``access_key_id`` from moto's IAM/STS state."""
    if not access_key_id:
        return default_caller()
    if access_key_id.startswith("ACCA"):  # a long-term Bedrock API key: its IAM user
        return _api_key_caller(access_key_id)
    from moto.iam.models import iam_backends
    from moto.sts.models import sts_backends

    for account_id, account in list(iam_backends.items()):
        iam = account.get("aws") if hasattr(account, "get") else None
        if iam is None or access_key_id not in iam.access_keys:
            continue
        key = iam.access_keys[access_key_id]
        if key.role_arn:
            role = sts_backends[account_id]["aws"].get_assumed_role_from_access_key(access_key_id)
            role_name = key.role_arn.split("/")[-1]
            session = role.session_name if role is not None else "session"
            moto_role = None
            try:
                moto_role = iam.get_role_by_arn(key.role_arn)
            except Exception:
                moto_role = None
            role_id = moto_role.id if moto_role is not None else _stable_id("AROA", key.role_arn)
            return Caller(
                account_id=account_id,
                arn=f"arn:aws:sts::{account_id}:assumed-role/{role_name}/{session}",
                principal_type="AssumedRole",
                principal_id=f"{role_id}:{session}",
                access_key_id=access_key_id,
                user_name=session,
                session_issuer_arn=_role_arn(account_id, role_name, moto_role.arn if moto_role else None),
            )
        user = iam.get_user_from_access_key_id(access_key_id)
        if user is not None:
            return Caller(
                account_id=account_id,
                arn=user.arn,
                principal_type="IAMUser",
                principal_id=user.id,
                access_key_id=access_key_id,
                user_name=user.name,
            )
    return default_caller(access_key_id)


def _api_key_caller(credential_id: str) -> Caller:
    from moto.iam.models import iam_backends

    from bedrockctl.sandbox.iam_api_keys import KEYS

    for (account_id, _), keys in KEYS.items():
        cred = keys.by_id.get(credential_id)
        user = iam_backends[account_id]["aws"].users.get(cred.user_name) if cred else None
        if user is not None:
            return Caller(account_id, user.arn, "IAMUser", user.id, credential_id, user_name=user.name)
    return default_caller(credential_id)


# -- sts:AssumeRole trust evaluation (moto does not evaluate trust policies) ------------------------------------
def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _principal_matches(principal: Any, caller: Caller) -> bool:
    if principal == "*":
        return True
    candidates = {caller.arn, caller.account_id, f"arn:aws:iam::{caller.account_id}:root"}
    if caller.session_issuer_arn:
        candidates.add(caller.session_issuer_arn)
        name = caller.session_issuer_arn.rsplit("/", 1)[-1]
        candidates.add(f"arn:aws:iam::{caller.account_id}:role/{name}")
    for value in _as_list(principal.get("AWS") if isinstance(principal, dict) else None):
        if value == "*" or value in candidates:
            return True
    return False


def _external_id_ok(condition: dict[str, Any], external_id: str | None) -> bool:
    for operator, clauses in condition.items():
        for key, expected in (clauses or {}).items():
            if key.lower() != "sts:externalid":
                continue  # other condition keys are not simulated
            values = [str(v) for v in _as_list(expected)]
            if external_id is None:
                return False
            if operator.startswith("StringLike"):
                import fnmatch

                if not any(fnmatch.fnmatchcase(external_id, v) for v in values):
                    return False
            elif external_id not in values:
                return False
    return True


def trust_allows(policy_document: str, caller: Caller, external_id: str | None) -> bool:
    import json

    try:
        policy = json.loads(urllib.parse.unquote(policy_document) if "%" in policy_document else policy_document)
    except ValueError:
        return False
    for stmt in _as_list(policy.get("Statement")):
        if stmt.get("Effect") != "Allow":
            continue
        actions = [a.lower() for a in _as_list(stmt.get("Action"))]
        if not any(a in ("sts:assumerole", "sts:*", "*") for a in actions):
            continue
        if _principal_matches(stmt.get("Principal"), caller) and _external_id_ok(
            stmt.get("Condition") or {}, external_id
        ):
            return True
    return False


def sts_guard(body: bytes, access_key_id: str, request_id: str) -> Any:
    """For ``sts:AssumeRole``, an AWS-shaped 403 AccessDenied when the role's trust policy does not let the
    caller in (unknown role, principal not trusted, ``sts:ExternalId`` condition not met); else ``None``."""
    form = urllib.parse.parse_qs(body.decode("utf-8", "replace"))
    if (form.get("Action") or [""])[0] != "AssumeRole":
        return None
    role_arn = (form.get("RoleArn") or [""])[0]
    external_id = form["ExternalId"][0] if form.get("ExternalId") else None
    caller = caller_from_access_key(access_key_id)
    from moto.iam.models import iam_backends

    m = re.match(r"^arn:aws:iam::(\d{12}):role/", role_arn)
    role = None
    if m:
        try:
            role = iam_backends[m.group(1)]["aws"].get_role_by_arn(role_arn)
        except Exception:
            role = None
    if role is not None and trust_allows(role.assume_role_policy_document, caller, external_id):
        return None
    from bedrockctl.sandbox.core import SandboxResponse

    message = f"User: {caller.arn} is not authorized to perform: sts:AssumeRole on resource: {role_arn}"
    xml = (
        '<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">'
        f"<Error><Type>Sender</Type><Code>AccessDenied</Code><Message>{_xml_escape(message)}</Message></Error>"
        f"<RequestId>{request_id}</RequestId></ErrorResponse>"
    )
    return SandboxResponse(status=403, body=xml.encode(), headers={"Content-Type": "text/xml"})


def _xml_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
