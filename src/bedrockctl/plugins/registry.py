"""The plugin registry: built-in plugins plus third-party ones from the ``bedrockctl.plugins`` entry-point group.

A third-party package declares, in its ``pyproject.toml``::

    [project.entry-points."bedrockctl.plugins"]
    my_plugin = "my_package.module:MyPlugin"      # a ``bedrockctl.plugins.base.Plugin`` subclass

``create_plugin_instance(name, config)`` builds one; ``list_plugins()`` describes them all.
"""

from __future__ import annotations

import logging
from functools import cache
from importlib.metadata import entry_points
from typing import Any

from bedrockctl.aws.session import SessionFactory
from bedrockctl.plugins.base import Plugin
from bedrockctl.plugins.errors import UnknownPlugin

log = logging.getLogger("bedrockctl.plugins")

ENTRY_POINT_GROUP = "bedrockctl.plugins"
BUILTIN: dict[str, str] = {
    "aws_bedrock": "bedrockctl.plugins.aws_bedrock:AwsBedrockPlugin",
    "aws_sagemaker": "bedrockctl.plugins.aws_sagemaker:AwsSageMakerPlugin",
}


def _load(target: str) -> type[Plugin]:
    import importlib

    module, _, attr = target.partition(":")
    cls = getattr(importlib.import_module(module), attr)
    if not (isinstance(cls, type) and issubclass(cls, Plugin)):
        raise TypeError(f"{target} is not a bedrockctl Plugin subclass")
    return cls


@cache
def _entry_point_plugins() -> dict[str, str]:
    found: dict[str, str] = {}
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if ep.name in BUILTIN:
            log.warning("entry point %s=%s ignored: a built-in plugin has that name", ep.name, ep.value)
            continue
        found[ep.name] = ep.value
    return found


def refresh() -> None:
    """Forget the cached entry points (after installing a plugin package in a running process)."""
    _entry_point_plugins.cache_clear()


def plugin_names() -> list[str]:
    return [*BUILTIN, *sorted(_entry_point_plugins())]


def get_plugin_class(name: str) -> type[Plugin]:
    target = BUILTIN.get(name) or _entry_point_plugins().get(name)
    if target is None:
        raise UnknownPlugin(
            f"Unknown plugin {name!r}",
            remediation=f"Use one of: {', '.join(plugin_names())} (third-party plugins register in the "
            f"'{ENTRY_POINT_GROUP}' entry-point group).",
        )
    return _load(target)


def create_plugin_instance(
    plugin_type: str,
    config: dict[str, Any] | None = None,
    instance_id: str | None = None,
    display_name: str | None = None,
    dependencies: dict[str, Any] | None = None,
    *,
    sessions: SessionFactory | None = None,
) -> Plugin:
    """A ready plugin: ``create_plugin_instance("aws_bedrock", {"region": "us-east-1", "profile": "dev"})``.

    The signature is OpenCITE's (``instance_id``, ``display_name``, ``dependencies``; the AWS plugins need no
    dependencies), plus ``sessions``: a ``SessionFactory`` to use instead of one built from the config."""
    cls = get_plugin_class(plugin_type)
    if sessions is None:
        return cls.from_config(config or {}, instance_id, display_name, dependencies)
    return cls(config or {}, sessions=sessions, instance_id=instance_id, display_name=display_name)


def list_plugins() -> list[dict[str, Any]]:
    """Every available plugin: name, description, asset types, config fields and where it comes from."""
    out: list[dict[str, Any]] = []
    for name in plugin_names():
        try:
            cls = get_plugin_class(name)
        except Exception as exc:  # a broken third-party plugin must not break the listing
            out.append({"name": name, "error": f"{type(exc).__name__}: {exc}"})
            continue
        out.append(
            {
                "name": name,
                "description": cls.description,
                "source": "builtin" if name in BUILTIN else "entry_point",
                "asset_types": cls.asset_types(),
                "default_asset_types": list(cls.default_asset_types or cls.asset_types()),
                "config_fields": [
                    {"name": f.name, "required": f.required, "default": f.default, "description": f.description}
                    for f in cls.config_fields
                ],
            }
        )
    return out
