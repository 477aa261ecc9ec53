"""How the demo seed (``seeds``) reaches the sandbox's own Bedrock handlers: ``SeedCaller`` sends raw rest-json
requests, over HTTP to the sandbox's endpoint or straight to its WSGI application (no socket), attributed to an
account and an access key; a request the handlers reject raises ``SeedError``."""

from __future__ import annotations

import json
import urllib.request
from typing import Any

FAKE_KEY = "AKIAIOSFODNN7EXAMPLE"


class SeedError(Exception):
    """A seed step our own handlers rejected (``code`` is the AWS error code)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code


class SeedCaller:
    """Raw rest-json requests to the sandbox's own handlers, signed-looking (the sandbox attributes requests by
    the credential scope, it does not verify signatures), in ``account`` via ``x-moto-account-id``."""

    def __init__(self, endpoint: str, account: str, app: Any = None, key: str = FAKE_KEY) -> None:
        self.endpoint = endpoint.rstrip("/")
        self.app = app
        self.key = key
        self.account = account

    def __call__(self, service: str, region: str, method: str, path: str, body: Any = None) -> Any:
        data = json.dumps(body).encode() if body is not None else b""
        headers = {
            "Authorization": f"AWS4-HMAC-SHA256 Credential={self.key}/20240101/{region}/bedrock/aws4_request, "
            "SignedHeaders=host, Signature=0",
            "Host": f"{service}.{region}.amazonaws.com",
            "Content-Type": "application/json",
            "x-moto-account-id": self.account,
            "User-Agent": "bedrockctl-sandbox-seed",
        }
        status, payload = self._send(method, path, data, headers)
        parsed = json.loads(payload) if payload else {}
        if status >= 400:
            raise SeedError(str(parsed.get("__type") or "Error"), str(parsed.get("message", payload[:200])))
        return parsed

    def _send(self, method: str, path: str, data: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
        if self.app is None:
            req = urllib.request.Request(self.endpoint + path, data=data or None, method=method, headers=headers)  # noqa: S310
            try:
                with urllib.request.urlopen(req, timeout=30) as resp:  # noqa: S310 - the sandbox is http
                    return resp.status, resp.read()
            except urllib.error.HTTPError as err:
                return err.code, err.read()
        import io

        environ = {
            "REQUEST_METHOD": method,
            "PATH_INFO": path,
            "RAW_URI": path,
            "QUERY_STRING": "",
            "CONTENT_TYPE": headers["Content-Type"],
            "CONTENT_LENGTH": str(len(data)),
            "wsgi.input": io.BytesIO(data),
            "REMOTE_ADDR": "127.0.0.1",
            "SERVER_NAME": "127.0.0.1",
            "SERVER_PORT": "80",
            "wsgi.url_scheme": "http",
        }
        for name, value in headers.items():
            if name != "Content-Type":
                environ["HTTP_" + name.upper().replace("-", "_")] = value
        captured: list[str] = []
        result = self.app(environ, lambda status, _headers, *_: captured.append(status))
        payload = b"".join(result)
        return int(captured[0].split(" ", 1)[0]), payload
