"""Console sign-in through an OpenID Connect provider (authorization code flow with PKCE), built on authlib.

``OidcOptions.from_settings`` reads ``[gateway.oidc]`` (``issuer``, ``client_id``, ``client_secret`` or
``BEDROCKCTL_OIDC_CLIENT_SECRET``, ``scopes``, ``username_claim``, ``team_claim``, ``admin_group``,
``auto_create``, ``name``); absent, the console offers passwords only. ``OidcClient`` reads the provider's
discovery document, starts a sign-in (``begin``: the authorization URL and the state to keep in a signed cookie:
``state``, ``nonce``, PKCE ``code_verifier``) and completes it (``complete``: the code exchanged at the token
endpoint, the ID token verified with joserfc against the provider's JWKS — signature, ``iss``, ``aud``, ``exp``,
``nonce`` — and the userinfo claims merged). ``identity_of`` maps the claims to a user name, team and role.
"""

from __future__ import annotations

import os
import secrets
import time
from dataclasses import dataclass
from typing import Any, cast

import httpx
from authlib.common.errors import AuthlibBaseError
from authlib.integrations.httpx_client import AsyncOAuth2Client
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from joserfc.jwt import JWTClaimsRegistry

from bedrockctl.errors import ConfigError
from bedrockctl.services.errors import OidcFailed

DISCOVERY_TTL = 3600.0


@dataclass(frozen=True)
class OidcOptions:
    issuer: str
    client_id: str
    client_secret: str | None
    scopes: str = "openid email profile"
    username_claim: str = "preferred_username"
    team_claim: str | None = None
    admin_group: str | None = None
    groups_claim: str = "groups"
    auto_create: bool = True
    name: str = "single sign-on"
    redirect_url: str | None = None

    @classmethod
    def from_settings(cls, settings: Any) -> OidcOptions | None:
        raw = (getattr(settings, "gateway", None) or {}).get("oidc")
        if not raw:
            return None
        if not isinstance(raw, dict):
            raise ConfigError("gateway.oidc is invalid; expected a table of keys")
        unknown = sorted(set(raw) - set(cls.__dataclass_fields__))
        if unknown:
            raise ConfigError(
                f"gateway.oidc.{unknown[0]} is not a setting; expected one of {', '.join(cls.__dataclass_fields__)}"
            )
        for required in ("issuer", "client_id"):
            if not raw.get(required):
                raise ConfigError(f"gateway.oidc.{required} is required to sign in through OpenID Connect")
        issuer = str(raw["issuer"]).rstrip("/")
        if not issuer.startswith(("https://", "http://127.0.0.1", "http://localhost")):
            raise ConfigError(f"gateway.oidc.issuer {issuer!r} must be an https URL (http only for localhost)")
        secret = raw.get("client_secret") or os.environ.get("BEDROCKCTL_OIDC_CLIENT_SECRET") or None
        values = {k: v for k, v in raw.items() if k not in ("issuer", "client_secret")}
        return cls(issuer=issuer, client_secret=secret, **values)


@dataclass(frozen=True)
class Identity:
    subject: str
    username: str
    team: str
    role: str | None  # None: the provider says nothing about roles (no admin_group): keep the console's
    display_name: str


class OidcClient:
    def __init__(self, options: OidcOptions, *, http: httpx.AsyncClient | None = None) -> None:
        self.options = options
        self._http = http
        self._meta: tuple[float, dict[str, Any]] | None = None

    def _client(self) -> httpx.AsyncClient:
        return self._http or httpx.AsyncClient(timeout=10.0)

    async def _get_json(self, url: str, **kw: Any) -> dict[str, Any]:
        client = self._client()
        try:
            resp = await client.get(url, **kw)
        except httpx.HTTPError as exc:
            raise OidcFailed(f"the identity provider did not answer at {url}: {exc}") from exc
        finally:
            if self._http is None:
                await client.aclose()
        if resp.status_code != 200:
            raise OidcFailed(f"the identity provider answered {resp.status_code} at {url}")
        doc: dict[str, Any] = resp.json()
        return doc

    async def metadata(self) -> dict[str, Any]:
        if self._meta is not None and time.monotonic() - self._meta[0] < DISCOVERY_TTL:
            return self._meta[1]
        meta = await self._get_json(f"{self.options.issuer}/.well-known/openid-configuration")
        if str(meta.get("issuer", "")).rstrip("/") != self.options.issuer:
            raise OidcFailed(f"the discovery document names issuer {meta.get('issuer')!r}, not {self.options.issuer!r}")
        self._meta = (time.monotonic(), meta)
        return meta

    def _oauth(self, redirect_uri: str) -> AsyncOAuth2Client:
        return AsyncOAuth2Client(
            client_id=self.options.client_id,
            client_secret=self.options.client_secret,
            scope=self.options.scopes,
            redirect_uri=redirect_uri,
            code_challenge_method="S256",
            token_endpoint_auth_method="client_secret_basic" if self.options.client_secret else "none",
            timeout=10.0,
        )

    async def begin(self, redirect_uri: str) -> tuple[str, dict[str, str]]:
        """The provider's authorization URL, and the state to keep until the callback."""
        meta = await self.metadata()
        state, nonce, verifier = secrets.token_urlsafe(24), secrets.token_urlsafe(24), secrets.token_urlsafe(48)
        async with self._oauth(redirect_uri) as oauth:
            url, _ = oauth.create_authorization_url(
                meta["authorization_endpoint"], state=state, nonce=nonce, code_verifier=verifier
            )
        return str(url), {"state": state, "nonce": nonce, "code_verifier": verifier, "redirect_uri": redirect_uri}

    async def complete(self, params: dict[str, str], kept: dict[str, str]) -> dict[str, Any]:
        """The verified claims of the signed-in user (ID token, then userinfo)."""
        if params.get("error"):
            raise OidcFailed(f"the identity provider refused: {params['error']} {params.get('error_description', '')}")
        if not kept.get("state") or not secrets.compare_digest(params.get("state", ""), kept["state"]):
            raise OidcFailed("the sign-in state does not match (expired, or started in another browser)")
        if not params.get("code"):
            raise OidcFailed("the identity provider returned no authorization code")
        meta = await self.metadata()
        try:
            async with self._oauth(kept["redirect_uri"]) as oauth:
                token = await oauth.fetch_token(
                    meta["token_endpoint"], code=params["code"], code_verifier=kept["code_verifier"]
                )
        except (httpx.HTTPError, ValueError) as exc:
            raise OidcFailed(f"the code could not be exchanged for tokens: {exc}") from exc
        except AuthlibBaseError as exc:  # an error answer of the token endpoint (invalid_grant ...)
            raise OidcFailed(f"the token endpoint refused the code: {exc}") from exc
        id_token = token.get("id_token")
        if not id_token:
            raise OidcFailed("the token answer has no ID token (is 'openid' in the scopes?)")
        jwks = await self._get_json(meta["jwks_uri"])
        try:
            algorithms = meta.get("id_token_signing_alg_values_supported") or ["RS256"]
            token_claims = jwt.decode(id_token, KeySet.import_key_set(cast(Any, jwks)), algorithms=algorithms).claims
            JWTClaimsRegistry(
                leeway=60,
                iss={"essential": True, "value": self.options.issuer},
                aud={"essential": True, "value": self.options.client_id},
                sub={"essential": True},
                exp={"essential": True},
                nonce={"essential": True, "value": kept["nonce"]},
            ).validate(token_claims)
        except (JoseError, ValueError) as exc:
            raise OidcFailed(f"the ID token is not valid: {exc}") from exc
        claims = token_claims
        out = dict(claims)
        if meta.get("userinfo_endpoint") and token.get("access_token"):
            info = await self._get_json(
                meta["userinfo_endpoint"], headers={"Authorization": f"Bearer {token['access_token']}"}
            )
            if info.get("sub") != out["sub"]:
                raise OidcFailed("the userinfo answer is for another subject than the ID token")
            out = {**info, **out}
        return out

    def identity_of(self, claims: dict[str, Any]) -> Identity:
        opts = self.options
        username = claims.get(opts.username_claim) or claims.get("email") or claims["sub"]
        groups = claims.get(opts.groups_claim) or []
        groups = [groups] if isinstance(groups, str) else [str(g) for g in groups]
        team_value = claims.get(opts.team_claim) if opts.team_claim else None
        if isinstance(team_value, list):
            team_value = team_value[0] if team_value else None
        role = ("admin" if opts.admin_group in groups else "member") if opts.admin_group else None
        return Identity(
            subject=str(claims["sub"]),
            username=str(username),
            team=str(team_value or "default"),
            role=role,
            display_name=str(claims.get("name") or username),
        )
