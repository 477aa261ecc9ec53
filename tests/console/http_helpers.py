"""What the console's HTTP tests share: the pages every member sees, the secrets no response may show, and helpers
that add a credential, a gateway key or an audit record the way a user (or the gateway) would."""

from __future__ import annotations

import re
import time

from bedrockctl.server.gateway.audit import AuditLog, AuditRecord

from .conftest import EXTERNAL_ID, SECRET, TOKEN, csrf_of

PAGES = ["/", "/inventory", "/usage", "/budgets", "/doctor", "/plugins", "/keys", "/credentials", "/audit", "/account"]
SECRETS = (SECRET, TOKEN, EXTERNAL_ID)


def add_cred(client, **over):
    data = {
        "csrf_token": csrf_of(client, "/credentials"),
        "name": "dev",
        "kind": "keys",
        "region": "us-east-1",
        "access_key_id": "AKIAIOSFODNN7EXAMPLE",
        "secret_access_key": SECRET,
        "session_token": TOKEN,
        "external_id": EXTERNAL_ID,
        **over,
    }
    r = client.post("/credentials", data=data)
    assert r.status_code == 303, r.text
    return int(r.headers["location"].split("?")[0].rsplit("/", 1)[1])


def add_key(client, **over):
    r = client.post("/keys", data={"csrf_token": csrf_of(client, "/keys"), "environment": "dev", "name": "k", **over})
    assert r.status_code == 200, r.text
    return re.search(r"New key (BGK[A-Z2-7]{17})", r.text).group(1), r.text


def no_secret(resp):
    blob = resp.text + repr(dict(resp.headers))
    for s in SECRETS:
        assert s not in blob, f"secret leaked in {resp.request.method} {resp.request.url.path}"


def write_audit(engine, **kw):
    base = dict(
        ts=time.time(),
        request_id="r",
        key_id="BGK" + "A" * 17,
        user_name="alice",
        team="ml",
        environment="dev",
        protocol="openai",
        operation="Converse",
        model_requested="m",
        model_served="anthropic.claude-3-haiku-20240307-v1:0",
        region="us-east-1",
        input_tokens=10,
        output_tokens=5,
        cost_nusd=0,
        status="ok",
        http_status=200,
        latency_ms=12,
        attempts=1,
        client=None,
    )
    base.update(kw)
    AuditLog(engine).write([AuditRecord(**base)])
