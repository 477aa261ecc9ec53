"""Who the credentials are and where they came from: the caller's ``Identity`` (from ``sts:GetCallerIdentity``)
and the ``Provenance`` of a ``SessionFactory``'s credentials (which link of the chain resolved, the masked key id,
expiry, assumed roles), with botocore's credential sources said in words (``describe_source``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

# botocore's credential "method" names, said in words.
SOURCE_LABELS: dict[str, str] = {
    "explicit": "explicit access keys (config or flags)",
    "env": "environment variables (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY)",
    "shared-credentials-file": "shared credentials file (~/.aws/credentials)",
    "config-file": "AWS config file (~/.aws/config)",
    "custom-process": "credential_process in the AWS config profile",
    "sso": "AWS IAM Identity Center (SSO) cached session",
    "assume-role": "role assumed through the profile's role_arn",
    "assume-role-with-web-identity": "web identity token (OIDC) role",
    "container-role": "container credentials (ECS/EKS task role)",
    "iam-role": "EC2 instance profile role (IMDS)",
    "boto-config": "legacy boto config file",
    "bedrockctl-assume-role": "role assumed by bedrockctl (role_arn / external_id)",
    "injected-session": "a boto3 Session supplied by the caller",
}


def describe_source(method: str | None) -> str:
    if not method:
        return "unknown"
    return SOURCE_LABELS.get(method, method)


@dataclass
class Identity:
    account: str
    arn: str
    user_id: str
    principal_type: str

    @classmethod
    def from_sts(cls, resp: dict[str, Any]) -> Identity:
        arn = str(resp["Arn"])
        resource = arn.split(":", 5)[-1]
        kind = resource.split("/", 1)[0]
        principal_type = {
            "user": "IAMUser",
            "assumed-role": "AssumedRole",
            "root": "Root",
            "federated-user": "FederatedUser",
        }.get(kind, kind)
        if principal_type == "AssumedRole" and "/AWSReservedSSO_" in arn:
            principal_type = "AssumedRole (IAM Identity Center)"
        return cls(account=str(resp["Account"]), arn=arn, user_id=str(resp["UserId"]), principal_type=principal_type)


@dataclass
class Provenance:
    """Which link of the credential chain resolved, and what it yields."""

    source: str
    source_label: str
    profile: str | None
    region: str | None
    access_key_id: str | None  # masked
    expiry: datetime | None = None
    sso_token_expiry: datetime | None = None
    base_source: str | None = None  # when a role was assumed on top of another source
    roles: list[str] = field(default_factory=list)
    external_id_used: bool = False
    endpoint_url: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "credential_source": self.source,
            "credential_source_description": self.source_label,
            "base_credential_source": self.base_source,
            "profile": self.profile,
            "region": self.region,
            "access_key_id": self.access_key_id,
            "expiry": self.expiry.isoformat() if self.expiry else None,
            "sso_token_expiry": self.sso_token_expiry.isoformat() if self.sso_token_expiry else None,
            "assumed_roles": self.roles,
            "external_id_used": self.external_id_used,
            "endpoint_url": self.endpoint_url,
        }
