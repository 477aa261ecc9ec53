"""boto3 clients as a *caller* of a bedrockctl gateway builds them: one endpoint, one CA to trust, and either a
gateway key pair (SigV4) or a gateway bearer token, all passed in. Nothing is read from the process environment
that could change how the call is authenticated (``AWS_BEARER_TOKEN_BEDROCK``, ``AWS_PROFILE``, access keys), so a
program can drive several callers at once (``bedrockctl demo`` does) without touching ``os.environ``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import boto3
import botocore.session
from botocore.config import Config
from botocore.tokens import FrozenAuthToken

from bedrockctl.aws.session import share_data_loader


class _FixedToken:
    """A botocore token provider that always answers with one bearer token (what ``AWS_BEARER_TOKEN_BEDROCK``
    gives a default client, passed explicitly instead)."""

    def __init__(self, token: str) -> None:
        self._token = FrozenAuthToken(token)

    def load_token(self, **_kwargs: Any) -> FrozenAuthToken:
        return self._token


def gateway_runtime_client(
    endpoint_url: str,
    *,
    region: str,
    ca_bundle: Path | str | None = None,
    bearer_token: str | None = None,
    access_key_id: str | None = None,
    secret_access_key: str | None = None,
    config: Config | None = None,
) -> Any:
    """A ``bedrock-runtime`` client for a gateway at ``endpoint_url``, authenticated with ``bearer_token`` or
    with the key pair. ``ca_bundle`` is the CA file to trust (``None``: the system's trust store); verification is
    never turned off. botocore 1.44 and later refuse to send a bearer token to a plain ``http://`` endpoint."""
    if bool(bearer_token) == bool(access_key_id and secret_access_key):
        raise ValueError("give either bearer_token or access_key_id and secret_access_key")
    bs = botocore.session.Session()
    share_data_loader(bs)
    if bearer_token:
        bs.register_component("token_provider", _FixedToken(bearer_token))
        auth = Config(signature_version="bearer")
    else:
        bs.set_credentials(access_key_id, secret_access_key)
        auth = Config(signature_version="v4")  # in code: a bearer token in the environment cannot take over
    cfg = auth if config is None else config.merge(auth)
    session = boto3.Session(botocore_session=bs, region_name=region)
    return session.client(
        "bedrock-runtime",
        region_name=region,
        endpoint_url=endpoint_url,
        verify=str(ca_bundle) if ca_bundle is not None else True,
        config=cfg,
    )
