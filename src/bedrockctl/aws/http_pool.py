"""One HTTP connection pool per endpoint, shared by every client a family of ``SessionFactory``s builds.

botocore gives each client its own ``URLLib3Session`` (a urllib3 pool manager): a scan of 50 accounts x 17
Regions builds 850 Bedrock clients, and each would open its own TCP (and TLS) connection to the Region's endpoint
on its first call, then hold it until the client is freed. Clients that differ only by credentials can share one
pool: signing happens before the request reaches the pool, and urllib3's pools are thread-safe. ``SharedHttp``
hands the first client's HTTP session for an endpoint (and the same timeouts, pool size, proxies and TLS settings)
to every later client of that endpoint, so connections are reused across accounts.
"""

from __future__ import annotations

import threading
from typing import Any

from botocore.config import Config


class SharedHttp:
    """Endpoint -> the HTTP session its clients share (thread-safe); one per family of factories."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sessions: dict[tuple[Any, ...], Any] = {}

    def adopt(self, client: Any, config: Config) -> None:
        """Point ``client`` at the shared HTTP session for its endpoint and settings (its own, if first)."""
        endpoint = getattr(client, "_endpoint", None)
        own = getattr(endpoint, "http_session", None)
        if endpoint is None or own is None:  # not a botocore client as we know it: leave it alone
            return
        key = (
            client.meta.endpoint_url,
            config.connect_timeout,
            config.read_timeout,
            config.max_pool_connections,
            repr(config.proxies),
            repr(config.proxies_config),
            repr(config.client_cert),
            config.tcp_keepalive,
            repr(getattr(own, "_verify", None)),
            type(own),
        )
        with self._lock:
            shared = self._sessions.setdefault(key, own)
        if shared is not own:
            endpoint.http_session = shared

    def __len__(self) -> int:
        with self._lock:
            return len(self._sessions)
