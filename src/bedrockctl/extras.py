"""The optional parts of bedrockctl (pip extras), the modules each brings, and the error when one is missing.

The core install (``pip install bedrockctl``) runs every command that needs no server: ``whoami``, ``doctor``,
``models``, ``discover``, ``inventory``, ``invoke``, ``chat``, ``agent``, ``policy``, ``pricing``. The rest say
which extra to install (``BRC-INS-001``) instead of failing with an import error. No I/O at import.
"""

from __future__ import annotations

import importlib.util

from bedrockctl.errors import MissingExtra

EXTRA_MODULES: dict[str, tuple[str, ...]] = {
    "server": ("starlette", "uvicorn", "granian", "jinja2", "argon2", "cryptography", "multipart"),
    "sandbox": ("moto", "werkzeug", "hypercorn", "a2wsgi"),
    "analytics": ("duckdb", "pyarrow", "sqlglot"),
    "postgres": ("psycopg",),
    "redis": ("redis",),
    "all": ("openai",),
}


def extra_of(module: str) -> str | None:
    """The extra that brings ``module`` (a dotted name is looked up by its top-level package)."""
    top = module.split(".", 1)[0]
    return next((extra for extra, mods in EXTRA_MODULES.items() if top in mods), None)


def _missing(extra: str) -> list[str]:
    return [m for m in EXTRA_MODULES[extra] if importlib.util.find_spec(m) is None]


def require(*extras: str, feature: str) -> None:
    """Raise ``MissingExtra`` naming the one ``pip install`` line when any module of ``extras`` is missing.

    ``all`` stands for every extra (what ``bedrockctl demo`` runs with)."""
    wanted = list(EXTRA_MODULES) if "all" in extras else list(extras)
    missing = {extra: mods for extra in wanted if (mods := _missing(extra))}
    if not missing:
        return
    name = "all" if "all" in extras else ",".join(missing)
    modules = ", ".join(m for mods in missing.values() for m in mods)
    raise MissingExtra(
        f"{feature} needs bedrockctl[{name}], which is not installed (missing modules: {modules})",
        remediation=f"pip install 'bedrockctl[{name}]'",
        details={"extras": list(missing), "install": f"pip install 'bedrockctl[{name}]'"},
    )


def from_import_error(exc: BaseException) -> MissingExtra | None:
    """``MissingExtra`` for an import error of a module that an extra brings, else ``None``."""
    if not isinstance(exc, ModuleNotFoundError) or not exc.name:
        return None
    extra = extra_of(exc.name)
    if extra is None:
        return None
    return MissingExtra(
        f"this command needs bedrockctl[{extra}], which is not installed (missing module: {exc.name})",
        remediation=f"pip install 'bedrockctl[{extra}]'",
        details={"extras": [extra], "install": f"pip install 'bedrockctl[{extra}]'"},
    )
