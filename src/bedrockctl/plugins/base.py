"""The plugin API: ``Plugin`` (verify_connection / list_assets) and asset types declared as data (``AssetSpec``).

An asset type is, wherever AWS allows it, a declaration: the service, the list operation and its parameters, the
path of the result list, the id field, optional detail calls (their results are merged into the item), optional
lookups (one list call per run, joined to every item), tags and child lists. ``Plugin.list_assets`` runs the
declaration (paginating when the operation pages) and maps each raw item with the spec's ``transform``. Asset
types that need real logic (CloudTrail usage) set ``custom``.

The API keeps the shape of OpenCITE's plugin API (``verify_connection`` returns ``success`` and ``message``;
every asset carries ``type`` and ``discovery_source``; see ``plugins.compat`` and docs/plugins.md).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from botocore.exceptions import BotoCoreError, ClientError

from bedrockctl.aws.errors import translate
from bedrockctl.aws.session import SessionFactory
from bedrockctl.errors import BedrockctlError, ValidationFailed
from bedrockctl.plugins.compat import OpenCiteApi
from bedrockctl.plugins.errors import UnknownAssetType
from bedrockctl.settings import AwsSettings

Item = dict[str, Any]
Transform = Callable[["Plugin", Item], Item]


@dataclass(frozen=True)
class CallSpec:
    """One extra call per item: ``operation(**{param: item[field]})``; ``result_path`` (or the whole response
    minus ResponseMetadata) is merged into the item, or stored under ``into`` when given."""

    operation: str
    params: Mapping[str, str]
    result_path: str | None = None
    into: str | None = None
    service: str | None = None  # defaults to the spec's service
    when: Mapping[str, Any] = field(default_factory=dict)  # only for items whose fields equal these values


@dataclass(frozen=True)
class LookupSpec:
    """One list call per run, indexed by ``key``; each item gets ``into = index.get(item[join])``."""

    operation: str
    result_path: str
    key: str
    join: str
    into: str
    service: str | None = None  # defaults to the spec's service


@dataclass(frozen=True)
class AssetSpec:
    """An asset type declared as data (cloud-custodian's enum_spec / detail_spec, in one record)."""

    asset_type: str
    service: str
    operation: str
    result_path: str
    id_field: str
    params: Mapping[str, Any] = field(default_factory=dict)
    param_sets: tuple[Mapping[str, Any], ...] = ()  # several list calls whose results are concatenated
    details: tuple[CallSpec, ...] = ()
    lookups: tuple[LookupSpec, ...] = ()
    tags: CallSpec | None = None
    children: tuple[CallSpec, ...] = ()
    single: bool = False  # the result is one object, not a list (e.g. a configuration)
    transform: Transform | None = None
    custom: Callable[..., list[Item]] | None = None  # non-declarative asset types
    description: str = ""
    # keyword arguments ``list_assets`` accepts for this type, with defaults; callable ``params`` values get them
    options: Mapping[str, Any] = field(default_factory=dict)
    kind: str | None = None  # the asset's ``type`` field (OpenCITE's value); defaults to ``asset_type``


@dataclass(frozen=True)
class ConfigField:
    name: str
    required: bool = False
    default: Any = None
    description: str = ""
    secret: bool = False


AWS_CONFIG_FIELDS: tuple[ConfigField, ...] = (
    ConfigField("region", default="us-east-1", description="AWS region"),
    ConfigField("profile", description="AWS profile name (else environment / default chain)"),
    ConfigField("access_key_id", description="AWS access key id", secret=True),
    ConfigField("secret_access_key", description="AWS secret access key", secret=True),
    ConfigField("session_token", description="AWS session token", secret=True),
    ConfigField("role_arn", description="IAM role to assume (credentials refresh themselves)"),
    ConfigField("external_id", description="External id for the role assumption", secret=True),
)


def dig(data: Any, path: str | None) -> Any:
    """``dig(resp, "a.b")`` -> ``resp["a"]["b"]`` (``None`` when absent); an empty path returns ``data``."""
    if not path:
        return data
    for part in path.split("."):
        if not isinstance(data, Mapping):
            return None
        data = data.get(part)
    return data


def _strip(resp: Mapping[str, Any]) -> Item:
    return {k: v for k, v in resp.items() if k != "ResponseMetadata"}


class Plugin(OpenCiteApi):
    """Base of every discovery plugin. Subclasses set ``name``, ``asset_specs`` and ``config_fields``.

    ``sessions`` lets a caller (the scanner) hand in a ``SessionFactory`` (e.g. one per assumed account role);
    else one is built from the config (region, profile, keys, role_arn + external_id).
    """

    name: ClassVar[str] = ""
    plugin_type: ClassVar[str] = ""  # OpenCITE's name for ``name`` (set from it)
    title: ClassVar[str] = ""  # human name, e.g. "AWS Bedrock"
    description: ClassVar[str] = ""
    discovery_source: ClassVar[str] = ""  # every asset's ``discovery_source``; defaults to "<name>_api"
    config_fields: ClassVar[tuple[ConfigField, ...]] = AWS_CONFIG_FIELDS
    asset_specs: ClassVar[dict[str, AssetSpec]] = {}
    default_asset_types: ClassVar[tuple[str, ...]] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.name and cls.plugin_type != cls.name:
            cls.plugin_type = cls.name
        cls.title = cls.title or cls.name.replace("_", " ").title()
        cls.discovery_source = cls.discovery_source or f"{cls.name}_api"

    def __init__(
        self,
        config: Mapping[str, Any] | None = None,
        *,
        sessions: SessionFactory | None = None,
        instance_id: str | None = None,
        display_name: str | None = None,
    ) -> None:
        self.instance_id = instance_id or self.name
        self.display_name = display_name or self.title
        config = dict(config or {})
        known = {f.name for f in self.config_fields}
        unknown = sorted(set(config) - known)
        if unknown:
            raise ValidationFailed(
                f"Unknown config field(s) for plugin {self.name}: {', '.join(unknown)}",
                remediation=f"Use only: {', '.join(sorted(known))}.",
            )
        for f in self.config_fields:
            if f.required and config.get(f.name) in (None, ""):
                raise ValidationFailed(f"Plugin {self.name} needs the config field {f.name!r}")
            config.setdefault(f.name, f.default)
        self.config = config
        if sessions is None:
            sessions = SessionFactory(
                AwsSettings(
                    region=config.get("region"),
                    profile=config.get("profile"),
                    access_key_id=config.get("access_key_id"),
                    secret_access_key=config.get("secret_access_key"),
                    session_token=config.get("session_token"),
                    role_arn=config.get("role_arn"),
                    external_id=config.get("external_id"),
                )
            )
        self.sessions = sessions
        self.region: str = str(config.get("region") or sessions.region or "us-east-1")

    @classmethod
    def from_config(
        cls,
        config: Mapping[str, Any],
        instance_id: str | None = None,
        display_name: str | None = None,
        dependencies: Mapping[str, Any] | None = None,
    ) -> Plugin:
        """OpenCITE's factory. ``dependencies`` is accepted for signature compatibility; AWS plugins need none."""
        return cls(config, instance_id=instance_id, display_name=display_name)

    # -- plumbing --------------------------------------------------------------------------------------------
    def client(self, service: str) -> Any:
        return self.sessions.client(service, self.region)

    def call(self, service: str, operation: str, **params: Any) -> Item:
        try:
            return _strip(getattr(self.client(service), operation)(**params))
        except (ClientError, BotoCoreError) as exc:
            raise translate(exc, service=service, operation=operation, region=self.region) from exc

    def pages(self, service: str, operation: str, result_path: str, **params: Any) -> list[Item]:
        """All items of a list operation, following its paginator when it has one."""
        client = self.client(service)
        try:
            if client.can_paginate(operation):
                out: list[Item] = []
                for page in client.get_paginator(operation).paginate(**params):
                    out.extend(dig(page, result_path) or [])
                return out
            return list(dig(getattr(client, operation)(**params), result_path) or [])
        except (ClientError, BotoCoreError) as exc:
            raise translate(exc, service=service, operation=operation, region=self.region) from exc

    # -- API -------------------------------------------------------------------------------------------------
    @classmethod
    def asset_types(cls) -> list[str]:
        return list(cls.asset_specs)

    def verify_connection(self) -> dict[str, Any]:
        """OpenCITE's shape: ``success``, ``message``, ``region``, ``account_id`` (``error`` on failure), plus ours:
        ``ok`` (= ``success``), ``identity_arn``, ``credential_source``, ``error_code``. Plugins add their extras
        through ``connection_extras``."""
        try:
            ident = self.sessions.identity()
            prov = self.sessions.provenance()
            status: dict[str, Any] = {
                "success": True,
                "ok": True,
                "region": self.region,
                "account_id": ident.account,
                "identity_arn": ident.arn,
                "credential_source": prov.source,
            }
            status.update(self.connection_extras())
        except BedrockctlError as exc:
            return {
                "success": False,
                "ok": False,
                "region": self.region,
                "error": str(exc),
                "error_code": exc.code,
                "message": f"Failed to connect to {self.title}",
            }
        status["message"] = f"Successfully connected to {self.title}"
        return status

    def connection_extras(self) -> dict[str, Any]:
        """A cheap call proving the service answers, and what it tells (e.g. how many models are offered)."""
        return {}

    def list_assets(self, asset_type: str, **kwargs: Any) -> list[Item]:
        """Assets of ``asset_type``; keyword arguments are the type's options (e.g. ``days=30``)."""
        spec = self.asset_specs.get(asset_type)
        if spec is None:
            raise UnknownAssetType(
                f"Plugin {self.name} has no asset type {asset_type!r}",
                remediation=f"Use one of: {', '.join(self.asset_types())}.",
            )
        unknown = sorted(set(kwargs) - set(spec.options))
        if unknown:
            raise ValidationFailed(
                f"Asset type {asset_type!r} of plugin {self.name} takes no option {', '.join(unknown)}",
                remediation=f"Options of {asset_type!r}: {', '.join(spec.options) or 'none'}.",
            )
        options = {**spec.options, **kwargs}
        if spec.custom is not None:
            return spec.custom(self, **options)
        return self.run_spec(spec, **options)

    def run_spec(self, spec: AssetSpec, **options: Any) -> list[Item]:
        if spec.single:
            raw = [dig(self.call(spec.service, spec.operation, **dict(spec.params)), spec.result_path) or {}]
        else:
            raw = []
            for params in spec.param_sets or (spec.params,):
                resolved = {k: (v(**options) if callable(v) else v) for k, v in params.items()}
                raw.extend(self.pages(spec.service, spec.operation, spec.result_path, **resolved))
        indexes = {
            lk.into: {x.get(lk.key): x for x in self.pages(lk.service or spec.service, lk.operation, lk.result_path)}
            for lk in (spec.lookups if raw else ())
        }
        out = []
        for item in raw:
            item = dict(item)
            for lk in spec.lookups:
                item[lk.into] = indexes[lk.into].get(item.get(lk.join))
            for detail in spec.details:
                self._apply_call(spec, detail, item)
            for child in spec.children:
                self._apply_call(spec, child, item, listing=True)
            if spec.tags is not None:
                self._apply_call(spec, spec.tags, item, tags=True)
            asset = spec.transform(self, item) if spec.transform else item
            asset.setdefault("type", spec.kind or spec.asset_type)
            asset.setdefault("discovery_source", self.discovery_source)
            out.append(asset)
        return out

    def _apply_call(
        self, spec: AssetSpec, call: CallSpec, item: Item, listing: bool = False, tags: bool = False
    ) -> None:
        if any(item.get(k) != v for k, v in call.when.items()):
            if tags:
                item["_tags"] = {}
            return
        params = {p: item.get(f) for p, f in call.params.items()}
        service = call.service or spec.service
        if listing:
            item[call.into or call.operation] = self.pages(service, call.operation, call.result_path or "", **params)
            return
        resp = self.call(service, call.operation, **params)
        result = dig(resp, call.result_path) if call.result_path else resp
        if tags:
            item["_tags"] = tags_to_dict(result)
        elif call.into:
            item[call.into] = result
        elif isinstance(result, Mapping):
            for k, v in result.items():
                item.setdefault(k, v)


def tags_to_dict(tags: Any) -> dict[str, str]:
    """``[{"key": k, "value": v}]`` / ``[{"Key": k, "Value": v}]`` / ``{k: v}`` -> ``{k: v}``."""
    if isinstance(tags, Mapping):
        return {str(k): str(v) for k, v in tags.items()}
    out: dict[str, str] = {}
    for t in tags or []:
        key = t.get("key", t.get("Key"))
        if key is not None:
            out[str(key)] = str(t.get("value", t.get("Value", "")))
    return out


def iso(value: Any) -> str | None:
    """datetimes as ISO 8601 strings (assets are plain JSON-able dicts)."""
    if value is None:
        return None
    return value.isoformat() if hasattr(value, "isoformat") else str(value)
