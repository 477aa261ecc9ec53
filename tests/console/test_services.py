"""Service layer: users and sessions, envelope encryption at rest, per-owner isolation (enforced in the service)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
import sqlalchemy as sa

from bedrockctl.errors import BedrockctlError, ValidationFailed
from bedrockctl.services.credentials import CredentialInput, CredentialService
from bedrockctl.services.envelope import EncryptionError, KmsMasterKey, LocalMasterKey
from bedrockctl.services.users import AuthenticationFailed, NotFound, PermissionDenied
from bedrockctl.store.console import console_credentials, console_sessions, console_users

from .conftest import EXTERNAL_ID, PASSWORD, SECRET, TOKEN


def _keys(name: str = "dev", **kw):
    return CredentialInput(
        name=name,
        kind="keys",
        region="us-east-1",
        access_key_id="AKIAIOSFODNN7EXAMPLE",
        secret_access_key=SECRET,
        session_token=TOKEN,
        **kw,
    )


def test_password_is_hashed_with_argon2_and_login_works(users, actors, store):
    with store.engine.connect() as conn:
        stored = conn.execute(
            sa.select(console_users.c.password_hash).where(console_users.c.username == "alice")
        ).scalar()
    assert stored.startswith("$argon2id$") and PASSWORD not in stored
    assert users.authenticate("alice", PASSWORD).id == actors["alice"].id
    with pytest.raises(AuthenticationFailed):
        users.authenticate("alice", "wrong password!!")
    with pytest.raises(AuthenticationFailed):
        users.authenticate("nobody", PASSWORD)


def test_sessions_are_stored_hashed_and_close(users, actors, store):
    info = users.open_session(actors["bob"])
    with store.engine.connect() as conn:
        ids = [r.id for r in conn.execute(sa.select(console_sessions.c.id))]
    assert info.token not in ids and len(ids) == 1
    assert users.session(info.token).actor.username == "bob"
    users.close_session(info.token)
    assert users.session(info.token) is None


def test_disabling_a_user_ends_sessions_and_login(users, actors):
    info = users.open_session(actors["bob"])
    users.update(actors["root"], actors["bob"].id, disabled=True)
    assert users.session(info.token) is None
    with pytest.raises(AuthenticationFailed):
        users.authenticate("bob", PASSWORD)


def test_members_cannot_manage_users(users, actors):
    with pytest.raises(PermissionDenied):
        users.create(actors["alice"], "mallory", PASSWORD)
    with pytest.raises(PermissionDenied):
        users.update(actors["alice"], actors["alice"].id, role="admin")
    with pytest.raises(NotFound):
        users.get(actors["alice"], actors["bob"].id)
    assert [u["username"] for u in users.list(actors["alice"])] == ["alice"]
    with pytest.raises(ValidationFailed):
        users.create(actors["root"], "weak", "short")


def test_stored_row_holds_no_plaintext_secret(creds, actors, store, master):
    created = creds.create(actors["alice"], _keys(external_id=EXTERNAL_ID, role_arn="arn:aws:iam::123456789012:role/r"))
    with store.engine.connect() as conn:
        row = conn.execute(console_credentials.select()).one()
        raw = b"".join(str(v).encode() if not isinstance(v, bytes) else v for v in row)
        # the whole database file too (WAL included)
    for secret in (SECRET, TOKEN, EXTERNAL_ID):
        assert secret.encode() not in raw
    db_path = store.url.split("///", 1)[1]
    blob = b"".join(Path(p).read_bytes() for p in (db_path, db_path + "-wal") if os.path.exists(p))
    for secret in (SECRET, TOKEN, EXTERNAL_ID):
        assert secret.encode() not in blob
    # the public view is masked, and the secret still decrypts for use
    assert created["secret_access_key"] == "****" and created["session_token"] == "****"
    assert created["external_id"] == "****" and created["access_key_id"] == "AKIA****MPLE"
    assert SECRET not in repr(created) and TOKEN not in repr(created)
    assert creds.sessions_for(actors["alice"], created["id"]).settings.secret_access_key == SECRET
    assert row.key_provider.startswith("local:")
    # master key file: created on first use, mode 0600
    assert stat.S_IMODE(master.path.stat().st_mode) == 0o600


def test_ciphertext_is_bound_to_its_owner(creds, actors, store):
    a = creds.create(actors["alice"], _keys("a"))
    b = creds.create(actors["bob"], _keys("b"))
    with store.engine.begin() as conn:  # somebody with write access to the DB moves alice's secret to bob's row
        src = conn.execute(console_credentials.select().where(console_credentials.c.id == a["id"])).one()
        conn.execute(
            console_credentials.update()
            .where(console_credentials.c.id == b["id"])
            .values(ciphertext=src.ciphertext, nonce=src.nonce, wrapped_key=src.wrapped_key)
        )
    with pytest.raises(EncryptionError):
        creds.sessions_for(actors["bob"], b["id"])


def test_wrong_master_key_does_not_open(creds, actors, store, tmp_path):
    c = creds.create(actors["alice"], _keys())
    other = CredentialService(store.engine, LocalMasterKey(tmp_path / "other.key"))
    with pytest.raises(EncryptionError):
        other.sessions_for(actors["alice"], c["id"])


def test_world_readable_master_key_is_refused(tmp_path):
    key = LocalMasterKey(tmp_path / "m.key")
    key.new_data_key()
    os.chmod(key.path, 0o644)
    with pytest.raises(EncryptionError, match="readable by others") as info:
        LocalMasterKey(key.path).new_data_key()
    assert "chmod 600" in info.value.remediation


def test_isolation_is_enforced_in_the_service(creds, actors):
    alice, bob, root = actors["alice"], actors["bob"], actors["root"]
    c = creds.create(alice, _keys())
    for call in (
        lambda: creds.get(bob, c["id"]),
        lambda: creds.update(bob, c["id"], _keys()),
        lambda: creds.delete(bob, c["id"]),
        lambda: creds.sessions_for(bob, c["id"]),
        lambda: creds.test(bob, c["id"]),
        lambda: creds.create(bob, _keys("x"), owner_id=alice.id),
    ):
        with pytest.raises(NotFound):
            call()
    assert creds.list(bob) == []
    assert [x["name"] for x in creds.list(alice)] == ["dev"]
    # admins manage all
    assert [x["owner"] for x in creds.list(root)] == ["alice"]
    creds.create(root, _keys("for-bob"), owner_id=bob.id)
    assert [x["name"] for x in creds.list(bob)] == ["for-bob"]
    creds.delete(root, c["id"])
    assert creds.list(alice) == []


def test_update_keeps_secret_when_left_blank(creds, actors):
    alice = actors["alice"]
    c = creds.create(alice, _keys())
    creds.update(
        alice,
        c["id"],
        CredentialInput(
            name="renamed", kind="keys", region="eu-west-1", access_key_id="AKIAIOSFODNN7EXAMPLE", secret_access_key=""
        ),
    )
    f = creds.sessions_for(alice, c["id"])
    assert f.settings.secret_access_key == SECRET and f.settings.session_token == TOKEN
    assert f.settings.region == "eu-west-1"
    creds.update(
        alice,
        c["id"],
        CredentialInput(
            name="renamed",
            kind="keys",
            region="eu-west-1",
            access_key_id="AKIAIOSFODNN7EXAMPLE",
            clear_session_token=True,
        ),
    )
    assert creds.sessions_for(alice, c["id"]).settings.session_token is None


def test_validation(creds, actors):
    with pytest.raises(ValidationFailed):
        creds.create(actors["alice"], CredentialInput(name="x", kind="keys", access_key_id="AKIAIOSFODNN7EXAMPLE"))
    with pytest.raises(ValidationFailed):
        creds.create(actors["alice"], CredentialInput(name="x", kind="role", role_arn="not-an-arn"))
    with pytest.raises(ValidationFailed):
        creds.create(
            actors["alice"],
            CredentialInput(name="x", region="mars-1", access_key_id="AKIAIOSFODNN7EXAMPLE", secret_access_key=SECRET),
        )


def test_connection_test_live(creds, actors, sandbox_env):
    c = creds.create(actors["alice"], _keys())
    res = creds.test(actors["alice"], c["id"])
    assert res["ok"] is True, res
    assert res["identity"]["account"] == "123456789012"
    assert "explicit" in res["source"]
    assert res["models_source"] == "live" and any(m["model_id"].startswith("anthropic.") for m in res["models"])
    assert SECRET not in repr(res) and TOKEN not in repr(res)
    assert creds.get(actors["alice"], c["id"])["last_test_ok"] is True


def test_connection_test_failure_falls_back_to_catalog(creds, actors, sandbox_env):
    c = creds.create(
        actors["alice"],
        CredentialInput(
            name="r", kind="role", role_arn="arn:aws:iam::123456789012:role/DoesNotExist", external_id=EXTERNAL_ID
        ),
    )
    res = creds.test(actors["alice"], c["id"])
    assert res["ok"] is False
    assert res["error"]["code"].startswith("BRC-") and res["error"]["remediation"]
    assert res["models_source"] == "offline_catalog" and res["models"]
    assert EXTERNAL_ID not in repr(res)


def test_kms_master_key_against_sandbox(store, actors, sandbox_env, boto_client):
    from bedrockctl.aws.session import SessionFactory
    from bedrockctl.settings import AwsSettings

    key_id = boto_client("kms").create_key(Description="bedrockctl console")["KeyMetadata"]["Arn"]
    kms = KmsMasterKey(SessionFactory(AwsSettings(region="us-east-1")), key_id)
    svc = CredentialService(store.engine, kms)
    c = svc.create(actors["alice"], _keys())
    with store.engine.connect() as conn:
        row = conn.execute(console_credentials.select()).one()
    assert row.key_provider == f"kms:{key_id}" and SECRET.encode() not in row.ciphertext
    assert svc.sessions_for(actors["alice"], c["id"]).settings.secret_access_key == SECRET
    # a different KMS key cannot unwrap it
    other = boto_client("kms").create_key()["KeyMetadata"]["Arn"]
    bad = CredentialService(store.engine, KmsMasterKey(SessionFactory(AwsSettings(region="us-east-1")), other))
    with pytest.raises(BedrockctlError):  # KMS refuses: IncorrectKeyException, translated
        bad.sessions_for(actors["alice"], c["id"])
