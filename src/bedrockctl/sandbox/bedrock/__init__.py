"""Our handlers for the Bedrock APIs moto lacks; importing this package registers their routes on ``ROUTER``.

Modules that do not exist yet (work in progress) are skipped; any other import error is raised.
"""

from __future__ import annotations

from importlib import import_module

HANDLER_MODULES = (
    "control",
    "control_profiles",
    "control_provisioned",
    "control_guardrails",
    "control_imported",
    "control_routers",
    "agents",
    "runtime",
    "agent_runtime",
)

for _name in HANDLER_MODULES:
    try:
        import_module(f"{__name__}.{_name}")
    except ModuleNotFoundError as _exc:  # only tolerate the module itself being absent
        if _exc.name != f"{__name__}.{_name}":
            raise
