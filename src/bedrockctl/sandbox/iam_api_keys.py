"""Long-term Amazon Bedrock API keys: IAM service-specific credentials for ``bedrock.amazonaws.com``.

moto has no service-specific credentials, so the sandbox answers ``CreateServiceSpecificCredential``,
``ListServiceSpecificCredentials``, ``UpdateServiceSpecificCredential`` and ``DeleteServiceSpecificCredential``
(query protocol) itself, for users that exist in moto's IAM. A Bedrock credential carries, as AWS's does, a
``ServiceCredentialAlias`` (``BedrockAPIKey-<id>-at-<account>``) and a ``ServiceCredentialSecret``, the API key:
``ABSK`` followed by the base64 of ``<alias>:<secret>``. ``caller_for_key`` finds the IAM user a key presented
as ``Authorization: Bearer`` belongs to; ``token_type`` tells short-term from long-term tokens
(``bedrock:bearerTokenType``).
"""

from __future__ import annotations

import base64
import secrets
import urllib.parse
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from xml.sax.saxutils import escape

from bedrockctl.sandbox.core import SandboxRequest, SandboxResponse
from bedrockctl.sandbox.dispatch import ACTIONS
from bedrockctl.sandbox.state import StateStore

NS = "https://iam.amazonaws.com/doc/2010-05-08/"
BEDROCK_SERVICE = "bedrock.amazonaws.com"
# services AWS issues service-specific credentials for
SERVICES = frozenset({BEDROCK_SERVICE, "codecommit.amazonaws.com", "cassandra.amazonaws.com"})
LONG_TERM_PREFIX = "ABSK"
SHORT_TERM_PREFIX = "bedrock-api-key-"
MAX_PER_USER = 2  # AWS's quota of service-specific credentials per user and service


@dataclass
class Credential:
    credential_id: str
    user_name: str
    service: str
    alias: str
    secret: str
    created: datetime
    expires: datetime | None
    status: str = "Active"

    @property
    def api_key(self) -> str:
        return LONG_TERM_PREFIX + base64.b64encode(f"{self.alias}:{self.secret}".encode()).decode()


class _Keys:
    def __init__(self, account_id: str, region: str) -> None:
        self.account_id = account_id
        self.by_id: dict[str, Credential] = {}


KEYS: StateStore[_Keys] = StateStore(_Keys)


def token_type(token: str) -> str | None:
    """``SHORT_TERM`` / ``LONG_TERM`` for a Bedrock API key, None for anything else."""
    if token.startswith(SHORT_TERM_PREFIX):
        return "SHORT_TERM"
    if token.startswith(LONG_TERM_PREFIX):
        return "LONG_TERM"
    return None


def find_key(token: str) -> tuple[str, Credential] | None:
    """``(account_id, credential)`` of an active, unexpired long-term key."""
    if not token.startswith(LONG_TERM_PREFIX):
        return None
    try:
        alias, _, secret = base64.b64decode(token[len(LONG_TERM_PREFIX) :] + "==").decode().partition(":")
    except (ValueError, UnicodeDecodeError):
        return None
    now = datetime.now(UTC)
    for (account_id, _), keys in KEYS.items():
        for cred in keys.by_id.values():
            matches = cred.alias == alias and secrets.compare_digest(cred.secret, secret)
            if matches and cred.status == "Active" and (cred.expires is None or cred.expires > now):
                return account_id, cred
    return None


def _iam_user(account_id: str, name: str) -> Any:
    from moto.iam.models import iam_backends

    return iam_backends[account_id]["aws"].users.get(name)


def _form(req: SandboxRequest) -> dict[str, str]:
    form = {k: v[0] for k, v in urllib.parse.parse_qs(req.body.decode("utf-8", "replace")).items() if v}
    for key, values in req.query.items():
        form.setdefault(key, values[0])
    return form


def _error(req: SandboxRequest, code: str, message: str, status: int) -> SandboxResponse:
    body = (
        f'<ErrorResponse xmlns="{NS}"><Error><Type>Sender</Type><Code>{code}</Code>'
        f"<Message>{escape(message)}</Message></Error><RequestId>{req.request_id}</RequestId></ErrorResponse>"
    )
    return SandboxResponse(status=status, body=body.encode(), headers={"Content-Type": "text/xml"})


def _ok(req: SandboxRequest, operation: str, result: str) -> SandboxResponse:
    body = (
        f'<{operation}Response xmlns="{NS}"><{operation}Result>{result}</{operation}Result>'
        f"<ResponseMetadata><RequestId>{req.request_id}</RequestId></ResponseMetadata></{operation}Response>"
    )
    return SandboxResponse(status=200, body=body.encode(), headers={"Content-Type": "text/xml"})


def _iso(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def _metadata_xml(cred: Credential, *, with_secret: bool) -> str:
    parts = [
        f"<UserName>{escape(cred.user_name)}</UserName>",
        f"<Status>{cred.status}</Status>",
        f"<CreateDate>{_iso(cred.created)}</CreateDate>",
        f"<ServiceSpecificCredentialId>{cred.credential_id}</ServiceSpecificCredentialId>",
        f"<ServiceName>{cred.service}</ServiceName>",
        f"<ServiceCredentialAlias>{escape(cred.alias)}</ServiceCredentialAlias>",
    ]
    if cred.expires is not None:
        parts.append(f"<ExpirationDate>{_iso(cred.expires)}</ExpirationDate>")
    if with_secret:
        parts.append(f"<ServiceCredentialSecret>{cred.api_key}</ServiceCredentialSecret>")
    return "".join(parts)


@ACTIONS.route("iam", "CreateServiceSpecificCredential")
def create_credential(req: SandboxRequest) -> SandboxResponse:
    form = _form(req)
    user, service = form.get("UserName", ""), form.get("ServiceName", "")
    account = req.caller.account_id
    if _iam_user(account, user) is None:
        return _error(req, "NoSuchEntity", f"The user with name {user} cannot be found.", 404)
    if service not in SERVICES:
        return _error(req, "NotSupportedService", f"The service {service} is not supported.", 404)
    keys = KEYS.get(account, "aws")
    if sum(1 for c in keys.by_id.values() if c.user_name == user and c.service == service) >= MAX_PER_USER:
        quota = f"Cannot exceed quota for ServiceSpecificCredentialsPerUserPerService: {MAX_PER_USER}"
        return _error(req, "LimitExceeded", quota, 409)
    now = datetime.now(UTC).replace(microsecond=0)
    age = form.get("CredentialAgeDays")
    if age is not None and not (age.isdigit() and 1 <= int(age) <= 36600):
        return _error(req, "ValidationError", "CredentialAgeDays must be between 1 and 36600.", 400)
    cred_id = "ACCA" + secrets.token_hex(10).upper()[:17]
    suffix = secrets.token_hex(2)
    cred = Credential(
        credential_id=cred_id,
        user_name=user,
        service=service,
        alias=f"BedrockAPIKey-{suffix}-at-{account}",
        secret=base64.b64encode(secrets.token_bytes(30)).decode(),
        created=now,
        expires=now + timedelta(days=int(age)) if age else None,
    )
    keys.by_id[cred_id] = cred
    xml = f"<ServiceSpecificCredential>{_metadata_xml(cred, with_secret=True)}</ServiceSpecificCredential>"
    return _ok(req, "CreateServiceSpecificCredential", xml)


@ACTIONS.route("iam", "ListServiceSpecificCredentials")
def list_credentials(req: SandboxRequest) -> SandboxResponse:
    form = _form(req)
    user, service = form.get("UserName"), form.get("ServiceName")
    everyone = form.get("AllUsers", "").lower() == "true"
    if user is None and not everyone:
        user = req.caller.user_name
    keys = KEYS.get(req.caller.account_id, "aws")
    members = "".join(
        f"<member>{_metadata_xml(c, with_secret=False)}</member>"
        for c in keys.by_id.values()
        if (everyone or c.user_name == user) and (service is None or c.service == service)
    )
    xml = f"<ServiceSpecificCredentials>{members}</ServiceSpecificCredentials><IsTruncated>false</IsTruncated>"
    return _ok(req, "ListServiceSpecificCredentials", xml)


def _existing(req: SandboxRequest) -> Credential | SandboxResponse:
    cred_id = _form(req).get("ServiceSpecificCredentialId", "")
    cred = KEYS.get(req.caller.account_id, "aws").by_id.get(cred_id)
    if cred is None:
        return _error(req, "NoSuchEntity", f"No such service specific credential: {cred_id}", 404)
    return cred


@ACTIONS.route("iam", "UpdateServiceSpecificCredential")
def update_credential(req: SandboxRequest) -> SandboxResponse:
    cred = _existing(req)
    if isinstance(cred, SandboxResponse):
        return cred
    status = _form(req).get("Status", "")
    if status not in ("Active", "Inactive"):
        return _error(req, "ValidationError", "Status must be Active or Inactive.", 400)
    cred.status = status
    return _ok(req, "UpdateServiceSpecificCredential", "")


@ACTIONS.route("iam", "DeleteServiceSpecificCredential")
def delete_credential(req: SandboxRequest) -> SandboxResponse:
    cred = _existing(req)
    if isinstance(cred, SandboxResponse):
        return cred
    KEYS.get(req.caller.account_id, "aws").by_id.pop(cred.credential_id, None)
    return _ok(req, "DeleteServiceSpecificCredential", "")
