"""AWS IAM Identity Center (SSO) token cache: when does the cached login expire?"""

from __future__ import annotations

import hashlib
import json
import os
from datetime import datetime
from pathlib import Path
from typing import Any

from dateutil.parser import isoparse


def sso_cache_dir() -> Path:
    """Where botocore's SSO provider reads cached tokens (it fixes the path when botocore is imported)."""
    from botocore.credentials import SSOProvider

    return Path(getattr(SSOProvider, "_SSO_TOKEN_CACHE_DIR", os.path.expanduser("~/.aws/sso/cache")))


def sso_profile_info(botocore_session: Any, profile: str) -> dict[str, str] | None:
    """The profile's SSO settings (``sso_session`` or legacy ``sso_start_url``), or None for non-SSO profiles."""
    full = botocore_session.full_config
    conf = full.get("profiles", {}).get(profile, {})
    if "sso_session" in conf:
        session = full.get("sso_sessions", {}).get(conf["sso_session"], {})
        return {"sso_session": conf["sso_session"], **{k: str(v) for k, v in session.items()}}
    if "sso_start_url" in conf:
        return {k: str(v) for k, v in conf.items() if k.startswith("sso_")}
    return None


def sso_token_expiry(botocore_session: Any, profile: str) -> datetime | None:
    """``expiresAt`` of the cached SSO token for ``profile``, or None when not an SSO profile / no cache."""
    info = sso_profile_info(botocore_session, profile)
    if not info:
        return None
    cache_key = info.get("sso_session") or info.get("sso_start_url", "")
    path = sso_cache_dir() / (hashlib.sha1(cache_key.encode("utf-8")).hexdigest() + ".json")  # noqa: S324 - AWS's scheme
    try:
        data = json.loads(path.read_text())
        return isoparse(str(data["expiresAt"]))
    except (OSError, ValueError, KeyError):
        return None


def profile_sso_expiry(profile: str) -> datetime | None:
    """``expiresAt`` of the cached SSO token of a configured profile; None when it has none or its configuration
    cannot be read (the credential checks report the profile's own errors)."""
    import botocore.session
    from botocore.exceptions import BotoCoreError

    try:
        return sso_token_expiry(botocore.session.Session(profile=profile), profile)
    except BotoCoreError:
        return None
