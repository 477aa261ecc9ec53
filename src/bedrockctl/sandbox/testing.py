"""Pytest plugin: ``pytest_plugins = ["bedrockctl.sandbox.testing"]``.

Fixtures:
- ``sandbox`` (session): one running ``Sandbox`` per test session (per xdist worker) on a free port.
- ``sandbox_env`` (function): resets the sandbox (empty, no faults), points the AWS SDKs at it via
  ``AWS_ENDPOINT_URL`` with fake static credentials and ``AWS_REGION=us-east-1``, and hides any real AWS
  configuration (profiles, config files, tokens). Yields the ``Sandbox``.
- ``boto_client`` (function): ``boto_client("s3", region="eu-west-1", **client_kwargs)`` builds a boto3 client
  for the sandbox (uses ``sandbox_env``); retries are off unless you pass ``config=``.
- ``sandbox_admin`` (function): a ``SandboxAdmin`` for the running sandbox.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from bedrockctl.sandbox.faults import SandboxAdmin
from bedrockctl.sandbox.server import Sandbox

FAKE_ACCESS_KEY_ID = "AKIAIOSFODNN7EXAMPLE"
FAKE_SECRET_ACCESS_KEY = "testing"  # noqa: S105 - a fake credential for the offline sandbox

_CLEARED_ENV = (
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_BEARER_TOKEN_BEDROCK",
    "AWS_ROLE_ARN",
    "AWS_ROLE_SESSION_NAME",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN",
    "AWS_CA_BUNDLE",
    "MOTO_ACCOUNT_ID",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "http_proxy",
    "https_proxy",
)


@pytest.fixture(scope="session")
def sandbox() -> Iterator[Sandbox]:
    sb = Sandbox(host="127.0.0.1", port=0, seed="empty").start()
    try:
        yield sb
    finally:
        sb.stop()


@pytest.fixture
def sandbox_env(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Sandbox]:
    sandbox.reset(reseed=False)
    for name in _CLEARED_ENV:
        monkeypatch.delenv(name, raising=False)
    import os

    for name in list(os.environ):
        if name.startswith("AWS_ENDPOINT_URL_"):
            monkeypatch.delenv(name, raising=False)
    cfg_dir = tmp_path_factory.mktemp("aws-config")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(cfg_dir / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(cfg_dir / "credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_ENDPOINT_URL", sandbox.endpoint_url)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", FAKE_ACCESS_KEY_ID)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", FAKE_SECRET_ACCESS_KEY)
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    yield sandbox
    sandbox.faults.clear()


@pytest.fixture
def boto_client(sandbox_env: Sandbox) -> Callable[..., Any]:
    import boto3
    from botocore.config import Config

    def make(service: str, region: str = "us-east-1", **kwargs: Any) -> Any:
        kwargs.setdefault("aws_access_key_id", FAKE_ACCESS_KEY_ID)
        kwargs.setdefault("aws_secret_access_key", FAKE_SECRET_ACCESS_KEY)
        kwargs.setdefault("config", Config(retries={"mode": "standard", "total_max_attempts": 1}))
        return boto3.client(service, region_name=region, endpoint_url=sandbox_env.endpoint_url, **kwargs)

    return make


@pytest.fixture
def sandbox_admin(sandbox_env: Sandbox) -> SandboxAdmin:
    return SandboxAdmin(sandbox_env.endpoint_url)


# -- helpers for platform tests ---------------------------------------------------------------------------------
PROBE_PATH = r"/model/(?P<model_id>.+)/sandbox-probe"


def install_probe_route() -> None:
    """Register (once) a ``bedrock-runtime`` route ``POST /model/<id>/sandbox-probe`` that records one
    invocation from its JSON body (``input_tokens``, ``output_tokens``, ``operation``, ``error_code``...).
    It lets platform tests drive faults and side effects without the runtime handlers."""
    from bedrockctl.sandbox.core import ROUTER, InvocationRecord, SandboxRequest, SandboxResponse

    if any(r.pattern.pattern == f"^{PROBE_PATH}$" for r in ROUTER.routes):
        return

    @ROUTER.route("bedrock-runtime", "POST", PROBE_PATH)
    def _probe(req: SandboxRequest, model_id: str) -> SandboxResponse:
        body = req.json()
        record = InvocationRecord(
            operation=body.get("operation", "Converse"),
            model_id=model_id,
            input_tokens=int(body.get("input_tokens", 0)),
            output_tokens=int(body.get("output_tokens", 0)),
            cache_read_tokens=int(body.get("cache_read_tokens", 0)),
            cache_write_tokens=int(body.get("cache_write_tokens", 0)),
            latency_ms=int(body.get("latency_ms", 0)),
            request_metadata=dict(body.get("request_metadata", {})),
            error_code=body.get("error_code"),
            input_body=body.get("input_body"),
            output_body=body.get("output_body"),
        )
        req.sandbox.record_invocation(req, record)
        return SandboxResponse.json({"requestId": req.request_id, "account": req.account_id})


def signed_request(
    endpoint: str,
    method: str,
    path: str,
    body: bytes | dict[str, Any] = b"",
    *,
    service: str = "bedrock",
    region: str = "us-east-1",
    access_key: str = FAKE_ACCESS_KEY_ID,
    secret_key: str = FAKE_SECRET_ACCESS_KEY,
    session_token: str | None = None,
    timeout: float = 10.0,
) -> tuple[int, dict[str, str], bytes]:
    """Send one SigV4-signed request (as an SDK would) and return ``(status, headers, body)``."""
    import json
    import urllib.error
    import urllib.request

    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    data = json.dumps(body).encode() if isinstance(body, dict) else body
    request = AWSRequest(
        method=method, url=endpoint.rstrip("/") + path, data=data, headers={"Content-Type": "application/json"}
    )
    SigV4Auth(Credentials(access_key, secret_key, session_token), service, region).add_auth(request)
    prepared = request.prepare()
    http_req = urllib.request.Request(  # noqa: S310 - sandbox endpoint
        prepared.url, data=data or None, method=method, headers=dict(prepared.headers.items())
    )
    try:
        with urllib.request.urlopen(http_req, timeout=timeout) as resp:  # noqa: S310
            return resp.status, dict(resp.headers.items()), resp.read()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers.items()), err.read()
