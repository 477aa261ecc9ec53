"""The rest of OpenCITE's plugin API, so code written against ``open_cite.plugins`` runs on ours unchanged:
``plugin_metadata()``, ``supported_asset_types``, ``get_account_id()``, ``get_config()`` (secrets masked) and
``export_assets()``. ``Plugin`` inherits it (``from_config`` lives in ``Plugin``); see docs/plugins.md for the
field-by-field comparison.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from bedrockctl.errors import BedrockctlError

if TYPE_CHECKING:
    from bedrockctl.aws.session import SessionFactory
    from bedrockctl.plugins.base import AssetSpec, ConfigField

log = logging.getLogger("bedrockctl.plugins")

MASK = "****"

# an export entry: (key in the export, asset type or usage helper name, keyword arguments)
ExportEntry = tuple[str, str, Mapping[str, Any]]


class OpenCiteApi:
    """Mixed into ``Plugin``; needs its ``name``, ``title``, ``description``, ``config_fields``, ``asset_specs``,
    ``config``, ``sessions`` and ``list_assets``."""

    # what ``export_assets()`` returns, in OpenCITE's keys (an asset type, or a method of the plugin)
    export_entries: ClassVar[tuple[ExportEntry, ...]] = ()

    if TYPE_CHECKING:
        name: ClassVar[str]
        title: ClassVar[str]
        description: ClassVar[str]
        config_fields: ClassVar[tuple[ConfigField, ...]]
        asset_specs: ClassVar[dict[str, AssetSpec]]
        config: dict[str, Any]
        sessions: SessionFactory

        def list_assets(self, asset_type: str, **kwargs: Any) -> list[dict[str, Any]]: ...

    @classmethod
    def plugin_metadata(cls) -> dict[str, Any]:
        """``name``, ``description`` and ``required_fields`` ({field: {label, default, required[, type]}})."""
        fields: dict[str, dict[str, Any]] = {}
        for f in cls.config_fields:
            entry: dict[str, Any] = {
                "label": f.description or f.name,
                "default": f.default or "",
                "required": f.required,
            }
            if f.secret:
                entry["type"] = "password"
            fields[f.name] = entry
        return {"name": cls.title, "description": cls.description, "required_fields": fields, "env_vars": []}

    @property
    def supported_asset_types(self) -> set[str]:
        return set(self.asset_specs)

    def get_account_id(self) -> str | None:
        """The account of the plugin's credentials, or ``None`` when STS cannot tell (logged, as OpenCITE does)."""
        try:
            return self.sessions.identity().account
        except BedrockctlError as exc:
            log.warning("could not get the AWS account id: %s", exc)
            return None

    def get_config(self) -> dict[str, Any]:
        """The configuration with every secret field masked (``****`` when set, else ``None``)."""
        secret = {f.name for f in self.config_fields if f.secret}
        return {k: ((MASK if v else None) if k in secret else v) for k, v in self.config.items()}

    def export_assets(self) -> dict[str, Any]:
        """Every asset type and usage helper OpenCITE exports, under OpenCITE's keys."""
        out: dict[str, Any] = {}
        for key, source, kwargs in self.export_entries:
            if source in self.asset_specs:
                out[key] = self.list_assets(source, **kwargs)
            else:
                out[key] = getattr(self, source)(**kwargs)
        return out
