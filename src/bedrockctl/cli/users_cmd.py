"""``bedrockctl users create|list|passwd|set|delete``: the web console's users (the first admin comes from here)."""

from __future__ import annotations

import os
import sys
from typing import Any

import typer

from bedrockctl.cli.output import current, emit, print_table

users_app = typer.Typer(help="Web console users (local accounts; roles admin and member).", no_args_is_help=True)


def _service() -> Any:
    from bedrockctl.extras import require

    require("server", feature="bedrockctl users")
    from bedrockctl.paths import default_store_url
    from bedrockctl.services.users import UserService
    from bedrockctl.store import Store

    settings = current().app().settings
    from bedrockctl.store.gateway import store_schema

    return UserService(Store(default_store_url(settings), schema=store_schema(settings)).engine)


def _password(from_stdin: bool, confirm: bool = True) -> str:
    env = os.environ.get("BEDROCKCTL_USER_PASSWORD")
    if env:
        return env
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    value: str = typer.prompt("Password (at least 10 characters)", hide_input=True, confirmation_prompt=confirm)
    return value


def _user_id(svc: Any, username: str) -> int:
    from bedrockctl.services.users import NotFound

    user = svc.by_name(username)
    if user is None:
        raise NotFound(f"no console user {username!r}", remediation="List them with `bedrockctl users list`.")
    return int(user["id"])


@users_app.command(
    "create", epilog="Examples:\n\n  bedrockctl users create ana --admin\n\n  bedrockctl users create bob --team search"
)
def create(
    username: str = typer.Argument(..., help="The user name to sign in with."),
    admin: bool = typer.Option(False, "--admin", help="Make the user an administrator (manages everything)."),
    team: str = typer.Option("default", "--team", help="The team the user's gateway keys are billed to."),
    password_stdin: bool = typer.Option(
        False,
        "--password-stdin",
        help="Read the password from standard input (else prompt, or $BEDROCKCTL_USER_PASSWORD).",
    ),
) -> None:
    """Create a console user. Example: bedrockctl users create ana --admin"""
    from bedrockctl.services.users import SYSTEM

    svc = _service()
    user = svc.create(SYSTEM, username, _password(password_stdin), role="admin" if admin else "member", team=team)
    line = f"Created {user['role']} {user['username']} (team {user['team']}). Sign in at the console with it."
    emit(user, line=line)


@users_app.command("list", epilog="Examples:\n\n  bedrockctl users list\n\n  bedrockctl users list --json")
def list_users() -> None:
    """Every console user."""
    from bedrockctl.services.users import SYSTEM

    emit(_service().list(SYSTEM), table=_users_table)


def _users_table(users: list[dict[str, Any]]) -> None:
    print_table(
        "Console users",
        ["user", "role", "team", "status", "sign-in"],
        [
            (u["username"], u["role"], u["team"], "disabled" if u["disabled"] else "active", u["auth_provider"])
            for u in users
        ],
    )


@users_app.command("passwd", epilog="Example:\n\n  bedrockctl users passwd ana")
def passwd(
    username: str = typer.Argument(...),
    password_stdin: bool = typer.Option(False, "--password-stdin", help="Read the new password from standard input."),
) -> None:
    """Set a user's password (signs them out everywhere)."""
    from bedrockctl.services.users import SYSTEM

    svc = _service()
    uid = _user_id(svc, username)
    svc.set_password(SYSTEM, uid, _password(password_stdin))
    emit({"username": username, "password_changed": True}, line=f"Password of {username} changed.")


@users_app.command("set", epilog="Example:\n\n  bedrockctl users set bob --role admin")
def set_user(
    username: str = typer.Argument(...),
    role: str | None = typer.Option(None, "--role", help="admin or member."),
    team: str | None = typer.Option(None, "--team"),
    disabled: bool | None = typer.Option(None, "--disabled/--enabled", help="Disable (or enable) sign-in."),
) -> None:
    """Change a user's role, team or status. Example: bedrockctl users set bob --role admin"""
    from bedrockctl.services.users import SYSTEM

    svc = _service()
    user = svc.update(SYSTEM, _user_id(svc, username), role=role, team=team, disabled=disabled)
    line = f"{user['username']}: {user['role']}, team {user['team']}, {'disabled' if user['disabled'] else 'active'}"
    emit(user, line=line)


@users_app.command("delete", epilog="Example:\n\n  bedrockctl users delete bob")
def delete(username: str = typer.Argument(...), yes: bool = typer.Option(False, "--yes", help="Do not ask.")) -> None:
    """Delete a user with their stored credentials and plugin instances."""
    from bedrockctl.services.users import SYSTEM

    svc = _service()
    uid = _user_id(svc, username)
    if not yes:
        typer.confirm(f"Delete {username} and their stored credentials?", abort=True)
    svc.delete(SYSTEM, uid)
    emit({"username": username, "deleted": True}, line=f"Deleted {username}.")


def register(app: typer.Typer) -> None:
    app.add_typer(users_app, name="users")
