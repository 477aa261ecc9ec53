"""Every credential source, with its provenance label, against a real moto server."""

from __future__ import annotations

import hashlib
import json
import stat
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import boto3
import pytest

from bedrockctl.aws.session import SessionFactory
from bedrockctl.errors import NoCredentialsFound, ProfileNotFound, SSOTokenExpired
from bedrockctl.settings import AwsSettings

SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


def test_environment_variables(moto_env: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    f = SessionFactory(AwsSettings(region="us-east-1"))
    info = f.whoami()
    assert info["credential_source"] == "env"
    assert "environment variables" in info["credential_source_description"]
    assert info["account"] == "123456789012"
    assert info["access_key_id"] == "AKIA****MPLE"
    assert SECRET not in json.dumps(info, default=str)


def test_explicit_keys_beat_environment(moto_env: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAEXAMPLEENV000001")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "env-secret")
    f = SessionFactory(
        AwsSettings(region="us-east-1", access_key_id="AKIAEXAMPLEEXPL00001", secret_access_key="explicit-secret")
    )
    prov = f.provenance()
    assert prov.source == "explicit"
    assert prov.access_key_id == "AKIA****0001"
    assert f.identity().account == "123456789012"


def test_profile_from_shared_credentials_file(moto_env: str, clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (clean_env / ".aws" / "credentials").write_text(
        f"[dev]\naws_access_key_id = AKIAEXAMPLEPROF00001\naws_secret_access_key = {SECRET}\n"
    )
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAEXAMPLEENV000001")  # profile beats the environment
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "env-secret")
    f = SessionFactory(AwsSettings(region="us-east-1", profile="dev"))
    prov = f.provenance()
    assert prov.source == "shared-credentials-file"
    assert prov.profile == "dev"
    assert prov.access_key_id == "AKIA****0001"
    f.identity()


def test_unknown_profile(moto_env: str) -> None:
    with pytest.raises(ProfileNotFound) as ei:
        SessionFactory(AwsSettings(region="us-east-1", profile="ghost")).session()
    assert "ghost" in ei.value.message


def test_credential_process(moto_env: str, clean_env: Path, tmp_path: Path) -> None:
    script = tmp_path / "creds.py"
    expiry = (datetime.now(UTC) + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    script.write_text(
        "import json\nprint(json.dumps({'Version': 1, 'AccessKeyId': 'ASIAPROCESSKEY000001', "
        f"'SecretAccessKey': 'proc-secret', 'SessionToken': 'proc-token', 'Expiration': '{expiry}'}}))\n"
    )
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    (clean_env / ".aws" / "config").write_text(f"[profile proc]\ncredential_process = {sys.executable} {script}\n")
    f = SessionFactory(AwsSettings(region="us-east-1", profile="proc"))
    prov = f.provenance()
    assert prov.source == "custom-process"
    assert prov.expiry is not None and prov.expiry > datetime.now(UTC)
    assert "credential_process" in prov.source_label


def test_no_credentials(moto_env: str) -> None:
    with pytest.raises(NoCredentialsFound) as ei:
        SessionFactory(AwsSettings(region="us-east-1")).session()
    assert ei.value.code == "BRC-CRED-001"
    assert "aws sso login" in ei.value.remediation


def test_injected_session(moto_env: str) -> None:
    injected = boto3.Session(
        aws_access_key_id="AKIAEXAMPLEINJ000001", aws_secret_access_key="s", region_name="eu-west-1"
    )
    f = SessionFactory(session=injected)
    assert f.region == "eu-west-1"
    assert f.provenance().source == "explicit"
    assert f.client("sts") is f.client("sts")  # cached
    assert f.client("sts") is not f.client("sts", region="us-west-2")


# --- SSO --------------------------------------------------------------------------------------------------
class _Portal(BaseHTTPRequestHandler):
    """The IAM Identity Center portal's GetRoleCredentials: the one AWS endpoint the SSO provider calls."""

    def do_GET(self) -> None:
        assert self.path.startswith("/federation/credentials")
        body = json.dumps(
            {
                "roleCredentials": {
                    "accessKeyId": "ASIASSOROLEKEY000001",
                    "secretAccessKey": "sso-secret",
                    "sessionToken": "sso-token",
                    "expiration": int((datetime.now(UTC) + timedelta(hours=1)).timestamp() * 1000),
                }
            }
        ).encode()
        self.send_response(200 if self.headers.get("x-amz-sso_bearer_token") == "cached-token" else 401)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def sso_portal() -> Iterator[str]:
    server = HTTPServer(("127.0.0.1", 0), _Portal)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def _sso_profile(home: Path, expires: datetime, monkeypatch: pytest.MonkeyPatch) -> None:
    (home / ".aws" / "config").write_text(
        "[profile corp]\nsso_session = corp\nsso_account_id = 123456789012\nsso_role_name = Developer\n"
        "region = us-east-1\n[sso-session corp]\nsso_start_url = https://corp.awsapps.com/start\n"
        "sso_region = us-east-1\n"
    )
    cache = home / ".aws" / "sso" / "cache"
    cache.mkdir(parents=True)
    from botocore.credentials import SSOProvider
    from botocore.tokens import SSOTokenProvider

    monkeypatch.setattr(SSOProvider, "_SSO_TOKEN_CACHE_DIR", str(cache))
    monkeypatch.setattr(SSOTokenProvider, "_SSO_TOKEN_CACHE_DIR", str(cache))
    name = hashlib.sha1(b"corp").hexdigest() + ".json"  # noqa: S324 - botocore's cache naming
    (cache / name).write_text(
        json.dumps(
            {
                "startUrl": "https://corp.awsapps.com/start",
                "region": "us-east-1",
                "accessToken": "cached-token",
                "expiresAt": expires.strftime("%Y-%m-%dT%H:%M:%SZ"),
            }
        )
    )


def test_sso_profile_with_token_cache(
    moto_env: str, clean_env: Path, sso_portal: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    expires = (datetime.now(UTC) + timedelta(hours=4)).replace(microsecond=0)
    _sso_profile(clean_env, expires, monkeypatch)
    monkeypatch.setenv("AWS_ENDPOINT_URL_SSO", sso_portal)
    f = SessionFactory(AwsSettings(region="us-east-1", profile="corp"))
    prov = f.provenance()
    assert prov.source == "sso"
    assert "Identity Center" in prov.source_label
    assert prov.sso_token_expiry == expires
    assert prov.expiry is not None
    assert f.whoami()["sso_token_expiry"] == expires.isoformat()


def test_sso_expired_token_cache(
    moto_env: str, clean_env: Path, sso_portal: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _sso_profile(clean_env, datetime.now(UTC) - timedelta(hours=1), monkeypatch)
    monkeypatch.setenv("AWS_ENDPOINT_URL_SSO", sso_portal)
    with pytest.raises(SSOTokenExpired) as ei:
        SessionFactory(AwsSettings(region="us-east-1", profile="corp")).provenance()
    assert "aws sso login --profile corp" in ei.value.remediation
    assert ei.value.code == "BRC-CRED-003"
