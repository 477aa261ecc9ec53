"""Discovery plugins: ``create_plugin_instance(name, config)``; see docs/plugins.md."""

from bedrockctl.plugins.base import AssetSpec, CallSpec, ConfigField, LookupSpec, Plugin
from bedrockctl.plugins.registry import create_plugin_instance, list_plugins

__all__ = ["AssetSpec", "CallSpec", "ConfigField", "LookupSpec", "Plugin", "create_plugin_instance", "list_plugins"]
