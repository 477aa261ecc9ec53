"""Credentials of a role bedrockctl assumes (``role_arn`` + ``external_id``, one link of a role chain), built with
botocore's public API: a ``CredentialProvider`` whose ``RefreshableCredentials`` call STS ``AssumeRole`` again
(external id included) before they expire, and a botocore session that resolves credentials through it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import botocore.session
from botocore.credentials import CredentialProvider, CredentialResolver, RefreshableCredentials
from botocore.exceptions import BotoCoreError, ClientError
from dateutil.parser import isoparse

from bedrockctl.aws.errors import translate
from bedrockctl.errors import AssumeRoleFailed

METHOD = "bedrockctl-assume-role"


def refresh_windows(duration: int) -> tuple[int, int]:
    """(advisory, mandatory) seconds before expiry. botocore's 15 / 10 minutes would call STS on every request
    with short sessions (900 s is allowed), so they shrink to a third / a sixth of the session length."""
    return min(15 * 60, duration // 3), min(10 * 60, duration // 6)


class AssumedRoleProvider(CredentialProvider):  # type: ignore[misc]
    """One role assumption. ``credentials`` refresh themselves; ``expiry`` is the end of the current ones."""

    METHOD = METHOD

    def __init__(
        self,
        sts: Any,
        role_arn: str,
        session_name: str,
        duration: int,
        external_id: str | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        super().__init__()
        self.sts = sts
        self.role_arn = role_arn
        self.session_name = session_name
        self.duration = duration
        self.external_id = external_id
        self.clock = clock
        self.expiry: datetime | None = None
        first = self.fetch()
        advisory, mandatory = refresh_windows(duration)
        # The constructor, not ``create_from_metadata``: only it takes ``time_fetcher`` (tests move the clock).
        self.credentials = RefreshableCredentials(
            access_key=first["access_key"],
            secret_key=first["secret_key"],
            token=first["token"],
            expiry_time=isoparse(first["expiry_time"]),
            refresh_using=self.fetch,
            method=METHOD,
            advisory_timeout=advisory,
            mandatory_timeout=mandatory,
            **({"time_fetcher": clock} if clock is not None else {}),
        )

    def fetch(self) -> dict[str, Any]:
        """Call AssumeRole; the credential metadata botocore's refresh expects."""
        kwargs: dict[str, Any] = {
            "RoleArn": self.role_arn,
            "RoleSessionName": self.session_name,
            "DurationSeconds": self.duration,
        }
        if self.external_id:
            kwargs["ExternalId"] = self.external_id
        try:
            resp = self.sts.assume_role(**kwargs)
        except (ClientError, BotoCoreError) as exc:
            err = translate(exc, service="sts", operation="AssumeRole")
            raise AssumeRoleFailed(
                f"Could not assume {self.role_arn}"
                + (" with the configured external id" if self.external_id else "")
                + f": {err.message}",
                details={"role_arn": self.role_arn, "cause": err.code},
            ) from exc
        c = resp["Credentials"]
        expiration: datetime = c["Expiration"]
        if self.clock is not None:  # rebase the lifetime onto the injected clock
            expiration = self.clock() + (expiration - datetime.now(expiration.tzinfo))
        self.expiry = expiration
        return {
            "access_key": c["AccessKeyId"],
            "secret_key": c["SecretAccessKey"],
            "token": c["SessionToken"],
            "expiry_time": expiration.isoformat(),
        }

    def load(self) -> RefreshableCredentials:
        return self.credentials

    def botocore_session(self) -> botocore.session.Session:
        """A botocore session whose only credential source is this role."""
        bs = botocore.session.Session()
        bs.set_config_variable("sts_regional_endpoints", "regional")
        bs.register_component("credential_provider", CredentialResolver(providers=[self]))
        return bs
