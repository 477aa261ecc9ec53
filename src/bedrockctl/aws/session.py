"""SessionFactory: the only place that builds boto3 sessions and clients.

Resolution order: explicit keys -> profile -> environment -> default chain (SSO, credential_process, web
identity, container, instance role); then an optional role assumption (``role_arn`` + ``external_id`` +
session name, and an optional ``role_chain``) with credentials that refresh themselves before they expire.
It remembers which link resolved (provenance: ``aws/provenance.py``), and caches clients per (credential identity,
service, region).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any

import boto3
import botocore.session
from botocore.client import BaseClient
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import BotoCoreError, ClientError

from bedrockctl import __version__
from bedrockctl.aws.assumed_role import AssumedRoleProvider
from bedrockctl.aws.errors import translate
from bedrockctl.aws.http_pool import SharedHttp
from bedrockctl.aws.provenance import Identity, Provenance, describe_source
from bedrockctl.aws.regions import check_region
from bedrockctl.aws.sso import sso_token_expiry
from bedrockctl.errors import NoCredentialsFound
from bedrockctl.redact import mask_key_id
from bedrockctl.settings import AwsSettings

Clock = Callable[[], datetime]


_LOADER_LOCK = threading.Lock()
_LOADERS: dict[str, Any] = {}


def share_data_loader(bs: botocore.session.Session) -> None:
    """Give ``bs`` the process-wide botocore data loader: service models, endpoints and rulesets (megabytes of
    JSON, read-only) are then parsed once per process instead of once per session (one session per assumed role)."""
    from botocore.loaders import create_loader

    path = bs.get_config_variable("data_path")
    key = str(path)
    with _LOADER_LOCK:
        loader = _LOADERS.get(key)
        if loader is None:
            loader = _LOADERS[key] = create_loader(path)
    bs.register_component("data_loader", loader)


def default_config(settings: AwsSettings, extra: Config | None = None) -> Config:
    """One botocore Config for every client: standard retries, short connect, long read, our user agent."""
    cfg = Config(
        retries={"mode": "standard", "max_attempts": settings.retry_attempts},
        connect_timeout=settings.connect_timeout,
        read_timeout=settings.read_timeout,
        user_agent_extra=f"bedrockctl/{__version__}",
        max_pool_connections=50,
    )
    return cfg.merge(extra) if extra is not None else cfg


class SessionFactory:
    """Builds (and caches) boto3 sessions and clients with known provenance.

    Library users may inject their own ``boto3.Session`` and/or botocore ``Config``. ``clock`` lets tests move
    time forward to exercise the refresh of assumed-role credentials.
    """

    def __init__(
        self,
        settings: AwsSettings | None = None,
        *,
        session: boto3.Session | None = None,
        config: Config | None = None,
        clock: Clock | None = None,
        env: dict[str, str] | None = None,
        http: SharedHttp | None = None,
    ) -> None:
        self.settings = settings or AwsSettings()
        self._injected = session
        self.config = default_config(self.settings, config)
        self._clock = clock
        self._env = os.environ if env is None else env
        self._lock = threading.RLock()
        self._session: boto3.Session | None = None
        self._base_method: str | None = None
        self._clients: dict[tuple[Any, ...], BaseClient] = {}
        self._building: dict[tuple[Any, ...], threading.Lock] = {}  # one lock per client key
        self._http = http if http is not None else SharedHttp()  # shared with derived factories
        self._identity: Identity | None = None
        self._roles: list[tuple[str, bool]] = []
        self._assumed: AssumedRoleProvider | None = None  # the last link of the role chain

    # -- sessions ----------------------------------------------------------------------------------------
    @property
    def region(self) -> str | None:
        if self.settings.region:
            return self.settings.region
        if self._injected is not None and self._injected.region_name:
            return str(self._injected.region_name)
        name = self.session().region_name
        return str(name) if name else None

    def _base_session(self) -> boto3.Session:
        s = self.settings
        if self._injected is not None:
            return self._injected
        bs = botocore.session.Session(profile=s.profile) if s.profile else botocore.session.Session()
        bs.set_config_variable("sts_regional_endpoints", "regional")
        if s.access_key_id and s.secret_access_key:
            bs.set_credentials(s.access_key_id, s.secret_access_key, s.session_token)
        try:
            share_data_loader(bs)
            return boto3.Session(botocore_session=bs, region_name=s.region)
        except BotoCoreError as exc:
            raise translate(exc, profile=s.profile) from exc

    def session(self) -> boto3.Session:
        """The session whose credentials every client uses (role assumption applied)."""
        if self._session is not None:  # resolved once; read without the lock
            return self._session
        with self._lock:
            if self._session is not None:
                return self._session
            base = self._base_session()
            creds = self._resolve(base)
            self._base_method = "injected-session" if self._injected is not None else creds.method
            chain = list(self.settings.role_chain)
            if self.settings.role_arn:
                chain.append(
                    {
                        "role_arn": self.settings.role_arn,
                        "external_id": self.settings.external_id or "",
                        "role_session_name": self.settings.role_session_name,
                    }
                )
            current = base
            for link in chain:
                current = self._assume(current, link)
            self._session = current
            return current

    def _resolve(self, session: boto3.Session) -> Credentials:
        try:
            creds = session.get_credentials()
        except BotoCoreError as exc:
            raise translate(exc, profile=self.settings.profile) from exc
        if creds is None:
            raise NoCredentialsFound(
                "No AWS credentials were found in flags, config, profile, environment or the default chain"
                + (f" (profile {self.settings.profile!r})" if self.settings.profile else "")
            )
        return creds

    def _assume(self, base: boto3.Session, link: dict[str, str]) -> boto3.Session:
        s = self.settings
        role_arn = link["role_arn"]
        external_id = link.get("external_id") or None
        sts = base.client(
            "sts",
            region_name=s.region or base.region_name or "us-east-1",
            config=self.config,
            endpoint_url=self.endpoint_for("sts"),  # the configured endpoint, not only AWS_ENDPOINT_URL
        )
        provider = AssumedRoleProvider(
            sts,
            role_arn,
            link.get("role_session_name") or s.role_session_name,
            s.duration,
            external_id=external_id,
            clock=self._clock,
        )
        bs = provider.botocore_session()
        share_data_loader(bs)
        new = boto3.Session(botocore_session=bs, region_name=s.region or base.region_name)
        with self._lock:
            self._roles.append((role_arn, bool(external_id)))
            self._assumed = provider
        return new

    # -- clients -----------------------------------------------------------------------------------------
    def endpoint_for(self, service: str) -> str | None:
        """The custom endpoint for ``service``: AWS_ENDPOINT_URL_<SERVICE>, then the configured one."""
        specific = self._env.get("AWS_ENDPOINT_URL_" + service.upper().replace("-", "_"))
        return specific or self.settings.endpoint_url or self._env.get("AWS_ENDPOINT_URL") or None

    def client(self, service: str, region: str | None = None) -> Any:
        """A cached client for ``service`` in ``region``, built once by one thread (one lock per key); clients of
        one endpoint share their HTTP connections (``aws/http_pool.py``)."""
        session = self.session()
        region = region or self.region
        key = (id(session), service, region)
        cached = self._clients.get(key)  # a dict read is atomic: the common case takes no lock
        if cached is not None:
            return cached  # its Region passed the check below when it was built
        with self._lock:
            building = self._building.setdefault(key, threading.Lock())
        with building:
            cached = self._clients.get(key)
            if cached is not None:
                return cached
            if region:
                check_region(region, service)  # the one Region rule, before any network call
            try:
                client = session.client(
                    service, region_name=region, config=self.config, endpoint_url=self.endpoint_for(service)
                )
            except BotoCoreError as exc:
                raise translate(exc, service=service, region=region) from exc
            self._http.adopt(client, self.config)
            self._clients[key] = client
        return client

    # -- provenance --------------------------------------------------------------------------------------
    def provenance(self) -> Provenance:
        session = self.session()
        creds = session.get_credentials()
        assert creds is not None  # _resolve guaranteed it
        method = getattr(creds, "method", None) or "unknown"
        try:
            frozen = creds.get_frozen_credentials()  # resolves deferred (SSO, process) credentials
        except (BotoCoreError, RuntimeError) as exc:
            raise translate(exc, profile=self.settings.profile) from exc
        # botocore's own refreshable credentials (SSO, process, container) keep their expiry private
        expiry = self._assumed.expiry if self._assumed is not None else getattr(creds, "_expiry_time", None)
        sso_expiry = None
        profile = self.settings.profile or (session.profile_name if self._injected is None else None)
        if self._base_method == "sso" and profile:
            sso_expiry = sso_token_expiry(session._session, profile)
        roles = [arn for arn, _ in self._roles]
        return Provenance(
            source=method,
            source_label=describe_source(method),
            profile=profile if profile != "default" or self.settings.profile else None,
            region=self.region,
            access_key_id=mask_key_id(frozen.access_key),
            expiry=expiry,
            sso_token_expiry=sso_expiry,
            base_source=describe_source(self._base_method) if roles else None,
            roles=roles,
            external_id_used=any(used for _, used in self._roles),
            endpoint_url=self.endpoint_for("sts"),
        )

    def identity(self, refresh: bool = False) -> Identity:
        if self._identity is None or refresh:
            try:
                resp = self.client("sts").get_caller_identity()
            except (ClientError, BotoCoreError) as exc:
                raise translate(
                    exc, service="sts", operation="GetCallerIdentity", profile=self.settings.profile
                ) from exc
            self._identity = Identity.from_sts(resp)
        return self._identity

    def whoami(self) -> dict[str, Any]:
        prov = self.provenance()
        ident = self.identity()
        out = {
            "account": ident.account,
            "arn": ident.arn,
            "user_id": ident.user_id,
            "principal_type": ident.principal_type,
        }
        out.update(prov.to_dict())
        return out

    def with_config(self, extra: Config) -> SessionFactory:
        """A factory with the same credentials source and ``extra`` merged into the botocore Config."""
        return SessionFactory(
            self.settings,
            session=self._injected,
            config=self.config.merge(extra),
            clock=self._clock,
            env=dict(self._env),
            http=self._http,
        )

    def pinned(self) -> SessionFactory:
        """A factory on this one's resolved session (roles already applied): factories derived from it with
        ``for_role`` (one per account in a scan) share these credentials instead of resolving the chain again."""
        settings = AwsSettings(**{**self.settings.__dict__})
        settings.role_arn, settings.external_id, settings.role_chain = None, None, []
        pinned = SessionFactory(
            settings,
            session=self.session(),
            config=self.config,
            clock=self._clock,
            env=dict(self._env),
            http=self._http,
        )
        pinned._roles = list(self._roles)
        pinned._assumed = self._assumed
        return pinned

    def for_role(
        self,
        role_arn: str,
        external_id: str | None = None,
        session_name: str | None = None,
        region: str | None = None,
    ) -> SessionFactory:
        """A factory that assumes ``role_arn`` on top of this one's credentials (role chaining)."""
        settings = AwsSettings(**{**self.settings.__dict__})
        settings.role_chain = [*self.settings.role_chain]
        if self.settings.role_arn:
            settings.role_chain.append(
                {
                    "role_arn": self.settings.role_arn,
                    "external_id": self.settings.external_id or "",
                    "role_session_name": self.settings.role_session_name,
                }
            )
        settings.role_arn = role_arn
        settings.external_id = external_id
        settings.role_session_name = session_name or self.settings.role_session_name
        settings.region = region or self.settings.region
        return SessionFactory(
            settings,
            session=self._injected,
            config=self.config,
            clock=self._clock,
            env=dict(self._env),
            http=self._http,
        )
