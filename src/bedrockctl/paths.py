"""Where bedrockctl keeps its local data (inventory database, usage ledger, caches)."""

from __future__ import annotations

import os
from pathlib import Path

from platformdirs import user_data_dir

from bedrockctl.files import private_dir
from bedrockctl.settings import Settings


def data_dir(settings: Settings | None = None) -> Path:
    """``store.data_dir`` / ``BEDROCKCTL_DATA_DIR``, else the platform's user data directory. Created on use (0700,
    like every directory bedrockctl creates: see ``bedrockctl.files``)."""
    configured = (settings.store.data_dir if settings else None) or os.environ.get("BEDROCKCTL_DATA_DIR")
    path = Path(configured).expanduser() if configured else Path(user_data_dir("bedrockctl", appauthor=False))
    return private_dir(path)


def default_store_url(settings: Settings | None = None) -> str:
    """``store.url`` / ``BEDROCKCTL_STORE_URL``, else SQLite in the data directory."""
    if settings and settings.store.url:
        return settings.store.url
    return f"sqlite:///{data_dir(settings) / 'bedrockctl.db'}"
