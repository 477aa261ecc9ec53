"""Credentials (per-user, encrypted, write-only secrets), gateway keys, plugin instances."""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bedrockctl.errors import BedrockctlError, ValidationFailed
from bedrockctl.plugins.registry import plugin_names
from bedrockctl.server.console.core import actor_of, console_of, form_of, is_htmx, page, redirect
from bedrockctl.services.credentials import CredentialInput
from bedrockctl.services.plugin_instances import PluginInstances


def _cred_input(form: dict[str, str]) -> CredentialInput:
    return CredentialInput(
        name=form.get("name", ""),
        kind=form.get("kind", "keys"),
        region=form.get("region", "").strip() or "us-east-1",
        access_key_id=form.get("access_key_id", "").strip() or None,
        secret_access_key=form.get("secret_access_key") or None,
        session_token=form.get("session_token") or None,
        role_arn=form.get("role_arn", "").strip() or None,
        external_id=form.get("external_id") or None,
        clear_session_token=form.get("clear_session_token") == "on",
    )


def _owners(request: Request) -> list[dict[str, Any]]:
    me = actor_of(request)
    return console_of(request).users.list(me) if me.is_admin else []


# -- credentials ----------------------------------------------------------------------------------------------
@page()
async def credentials_page(request: Request) -> Response:
    return _credentials_view(request)


def _credentials_view(request: Request, error: str = "", status: int = 200) -> Response:
    con = console_of(request)
    me = actor_of(request)
    return con.render(
        request,
        "credentials.html",
        status,
        creds=con.creds.list(me),
        owners=_owners(request),
        active="credentials",
        error=error,
    )


@page()
async def create_credential(request: Request) -> Response:
    con = console_of(request)
    form = await form_of(request)
    me = actor_of(request)
    owner = int(form["owner_id"]) if me.is_admin and form.get("owner_id") else None
    try:
        created = con.creds.create(me, _cred_input(form), owner_id=owner)
    except ValidationFailed as exc:
        return _credentials_view(request, exc.message, 400)
    return redirect(f"/credentials/{created['id']}", "Credential saved (the secret is encrypted and write-only).")


@page()
async def credential_detail(request: Request) -> Response:
    con = console_of(request)
    cred = con.creds.get(actor_of(request), int(request.path_params["cred_id"]))
    return con.render(request, "credential.html", cred=cred, active="credentials", error="", test=None)


@page()
async def update_credential(request: Request) -> Response:
    con = console_of(request)
    form = await form_of(request)
    cid = int(request.path_params["cred_id"])
    me = actor_of(request)
    try:
        con.creds.update(me, cid, _cred_input(form))
    except ValidationFailed as exc:
        cred = con.creds.get(me, cid)
        return con.render(
            request, "credential.html", 400, cred=cred, active="credentials", error=exc.message, test=None
        )
    return redirect(f"/credentials/{cid}", "Saved.")


@page()
async def delete_credential(request: Request) -> Response:
    con = console_of(request)
    con.creds.delete(actor_of(request), int(request.path_params["cred_id"]))
    return redirect("/credentials", "Credential deleted.")


@page()
async def test_credential(request: Request) -> Response:
    con = console_of(request)
    cid = int(request.path_params["cred_id"])
    me = actor_of(request)
    result = await run_in_threadpool(con.creds.test, me, cid)
    if is_htmx(request):
        return con.render(request, "_test_result.html", test=result)
    cred = con.creds.get(me, cid)
    return con.render(request, "credential.html", cred=cred, active="credentials", error="", test=result)


# -- gateway keys ---------------------------------------------------------------------------------------------
def _environments(request: Request) -> list[str]:
    con = console_of(request)
    envs = list(con.settings.environments)
    default = str((con.settings.gateway or {}).get("default_environment", "default"))
    return envs or [default]


@page()
async def keys_page(request: Request) -> Response:
    return _keys_view(request)


def _keys_view(request: Request, created: dict[str, Any] | None = None, error: str = "", status: int = 200) -> Response:
    con = console_of(request)
    return con.render(
        request,
        "keys.html",
        status,
        keys=con.keys.list(actor_of(request)),
        environments=_environments(request),
        created=created,
        active="keys",
        error=error,
    )


@page()
async def create_key(request: Request) -> Response:
    con = console_of(request)
    form = await form_of(request)
    me = actor_of(request)
    limits: dict[str, float] = {}
    try:
        for field in ("monthly_budget_usd", "rpm", "tpm"):
            if form.get(field, "").strip():
                limits[field] = float(form[field])
        created = con.keys.create(
            me,
            environment=form.get("environment", ""),
            name=form.get("name", "").strip(),
            user=form.get("user", "").strip() or None,
            team=form.get("team", "").strip() or None,
            limits=limits or None,
            expires_in_days=float(form["expires_in_days"]) if form.get("expires_in_days", "").strip() else None,
        )
    except ValueError:
        return _keys_view(request, None, "Limits must be numbers.", 400)
    except ValidationFailed as exc:
        return _keys_view(request, None, exc.message, 400)
    created["claude_code"] = _claude_code_settings(request, created)
    # shown once: rendered into this response only (no redirect, no storage), never again
    return _keys_view(request, created)


def _claude_code_settings(request: Request, created: dict[str, Any]) -> str | None:
    """Claude Code's settings.json for the new key, pointing at this server (None: the key may use no Claude)."""
    from bedrockctl.services import claude_code
    from bedrockctl.services.gateway_admin import environment_models

    settings = console_of(request).settings
    allowed = list(created.get("allowed_models") or []) or environment_models(settings, created.get("environment"))
    try:
        doc = claude_code.settings_for(
            str(created["token"]),
            gateway_url=str(request.base_url).rstrip("/"),
            region=settings.aws.region or "us-east-1",
            allowed=allowed,
        )
    except ValidationFailed:
        return None
    return claude_code.settings_json(doc)


@page()
async def key_detail(request: Request) -> Response:
    con = console_of(request)
    key = con.keys.get(actor_of(request), request.path_params["key_id"])
    return con.render(request, "key.html", key=key, active="keys")


@page()
async def revoke_key(request: Request) -> Response:
    con = console_of(request)
    con.keys.revoke(actor_of(request), request.path_params["key_id"])
    return redirect("/keys", "Key revoked.")


# -- plugin instances -----------------------------------------------------------------------------------------
def _plugins(request: Request) -> PluginInstances:
    con = console_of(request)
    return PluginInstances(con.engine, con.creds, con.ctx.sessions)


@page()
async def plugins_page(request: Request) -> Response:
    return _plugins_view(request)


def _plugins_view(request: Request, error: str = "", status: int = 200, edit: Any = None) -> Response:
    con = console_of(request)
    me = actor_of(request)
    return con.render(
        request,
        "plugins.html",
        status,
        instances=_plugins(request).list(me),
        plugin_names=plugin_names(),
        creds=con.creds.list(me, owner_id=me.id),
        edit=edit,
        active="plugins",
        error=error,
    )


async def _save_plugin(request: Request, inst_id: int | None) -> Response:
    form = await form_of(request)
    cred = form.get("credential_id", "").strip()
    try:
        new_id = _plugins(request).save(
            actor_of(request),
            name=form.get("name", ""),
            plugin=form.get("plugin", ""),
            regions=form.get("regions", ""),
            credential_id=int(cred) if cred else None,
            inst_id=inst_id,
        )
    except ValidationFailed as exc:
        return _plugins_view(request, exc.message, 400)
    return redirect("/plugins", f"Plugin instance {new_id} saved.")


@page()
async def create_plugin(request: Request) -> Response:
    return await _save_plugin(request, None)


@page()
async def plugin_detail(request: Request) -> Response:
    inst = _plugins(request).get(actor_of(request), int(request.path_params["inst_id"]))
    return _plugins_view(request, edit=inst)


@page()
async def update_plugin(request: Request) -> Response:
    return await _save_plugin(request, int(request.path_params["inst_id"]))


@page()
async def delete_plugin(request: Request) -> Response:
    _plugins(request).delete(actor_of(request), int(request.path_params["inst_id"]))
    return redirect("/plugins", "Plugin instance removed.")


@page()
async def scan_plugin(request: Request) -> Response:
    inst_id = int(request.path_params["inst_id"])
    try:
        summary = await run_in_threadpool(_plugins(request).scan, actor_of(request), inst_id)
    except BedrockctlError:
        raise
    msg = (
        f"Scan finished: {summary['asset_count']} assets, {len(summary['errors'])} errors."
        if summary.get("ok")
        else f"Scan failed: {summary['error']['code']} {summary['error']['message']}"
    )
    return redirect("/plugins", msg)


ROUTES = [
    Route("/credentials", credentials_page, methods=["GET"]),
    Route("/credentials", create_credential, methods=["POST"]),
    Route("/credentials/{cred_id:int}", credential_detail, methods=["GET"]),
    Route("/credentials/{cred_id:int}", update_credential, methods=["POST"]),
    Route("/credentials/{cred_id:int}/delete", delete_credential, methods=["POST"]),
    Route("/credentials/{cred_id:int}/test", test_credential, methods=["POST"]),
    Route("/keys", keys_page, methods=["GET"]),
    Route("/keys", create_key, methods=["POST"]),
    Route("/keys/{key_id:str}", key_detail, methods=["GET"]),
    Route("/keys/{key_id:str}/revoke", revoke_key, methods=["POST"]),
    Route("/plugins", plugins_page, methods=["GET"]),
    Route("/plugins", create_plugin, methods=["POST"]),
    Route("/plugins/{inst_id:int}", plugin_detail, methods=["GET"]),
    Route("/plugins/{inst_id:int}", update_plugin, methods=["POST"]),
    Route("/plugins/{inst_id:int}/delete", delete_plugin, methods=["POST"]),
    Route("/plugins/{inst_id:int}/scan", scan_plugin, methods=["POST"]),
]
