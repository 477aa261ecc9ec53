"""Fault injection for the sandbox, its admin API (``/_sandbox/...``) and the ``SandboxAdmin`` client.

Configuration (JSON, also ``Sandbox(faults=...)``)::

    {"latency": [{"ms": 200, "service": "bedrock-runtime", "region": "us-east-1"}],   # any request
     "throttle": [{"rate": 0.5, "region": "us-east-1", "model": "anthropic.claude-3-haiku"}],
     "quota": [{"model": "...", "region": "...", "rpm": 10, "tpm": 20000}],
     "unavailable": ["eu-west-1"],            # 503 ServiceUnavailableException
     "hang": ["us-west-2"],                   # never answers (sleeps up to hang_seconds, ends on shutdown)
     "not_ready": [{"model": "...", "region": "..."}],        # 429 ModelNotReadyException
     "access_denied": [{"model": "...", "account": "..."}],  # 403 AccessDeniedException
     "expired_keys": ["ASIA..."],             # these access keys' credentials have expired now
     "stream_pace": [{"ms": 50, "model": "...", "region": "..."}],  # a pause between two events of a stream
     "iam_enforcement": true,                 # evaluate IAM policies for Bedrock calls (see iam_sim.py)
     "seed": 7, "hang_seconds": 30}

Every key of a rule but the value itself is optional (absent = matches all). A ``model`` rule matches when the
requested model id (model id, profile id or ARN) equals or contains it. Region faults (``unavailable``,
``hang``) and ``latency`` apply to every service of the Region (a Region that is down is down); model faults
(``throttle``, ``quota``, ``not_ready``, ``access_denied``) apply to the Bedrock runtime routes
(bedrock-runtime, bedrock-agent-runtime). ``expired_keys`` makes every request signed with one of those keys
fail with ExpiredTokenException / ExpiredToken (temporary credentials also expire on their own when the
``Expiration`` STS gave them passes). ``stream_pace`` spaces the events of ConverseStream and
InvokeModelWithResponseStream; ``Faults.streams_dropped`` counts the streams whose client closed the connection
before their end (``GET /_sandbox/streams``).
"""

from __future__ import annotations

import json
import math
import random
import threading
import time
import urllib.request
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bedrockctl.sandbox.core import AwsError, SandboxRequest, SandboxResponse

if TYPE_CHECKING:
    from bedrockctl.sandbox.server import Sandbox

KNOWN_KEYS = frozenset(
    {
        "latency",
        "throttle",
        "quota",
        "unavailable",
        "hang",
        "not_ready",
        "access_denied",
        "expired_keys",
        "iam_enforcement",
        "seed",
        "hang_seconds",
        "stream_pace",
    }
)
UNAVAILABLE_MESSAGE = "The service is currently unavailable. Please try again later."


def _matches(rule: dict[str, Any], **attrs: str | None) -> bool:
    for key, value in attrs.items():
        want = rule.get(key)
        if want is None:
            continue
        if value is None:
            return False
        if key == "model":
            if want != value and str(want) not in value:
                return False
        elif want != value:
            return False
    return True


@dataclass
class _Window:
    requests: deque[float] = field(default_factory=deque)
    tokens: deque[tuple[float, int]] = field(default_factory=deque)

    def trim(self, now: float) -> None:
        while self.requests and self.requests[0] <= now - 60:
            self.requests.popleft()
        while self.tokens and self.tokens[0][0] <= now - 60:
            self.tokens.popleft()

    def token_sum(self) -> int:
        return sum(t for _, t in self.tokens)


class Faults:
    """The live fault configuration; thread-safe."""

    def __init__(self, config: dict[str, Any] | None = None) -> None:
        self._lock = threading.Lock()
        self.config: dict[str, Any] = {}
        self._rng = random.Random(0)
        self._windows: dict[tuple[str, str, str], _Window] = {}
        self.streams_dropped = 0  # streams whose client went away before their end
        self.set(config or {})

    # -- configuration ------------------------------------------------------------------------------------
    def set(self, config: dict[str, Any]) -> None:
        unknown = set(config) - KNOWN_KEYS
        if unknown:
            raise ValueError(f"unknown fault keys: {sorted(unknown)}")
        keys = config.get("expired_keys", [])
        if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
            raise ValueError("expired_keys must be a list of access key ids")
        for rule in config.get("throttle", []):
            if not 0 <= float(rule.get("rate", 0)) <= 1:
                raise ValueError("throttle rate must be within 0..1")
        with self._lock:
            self.config = json.loads(json.dumps(config))
            self._rng = random.Random(config.get("seed"))
            self._windows.clear()

    def clear(self) -> None:
        self.set({})

    # -- knobs ----------------------------------------------------------------------------------------------
    def apply_latency(self, service: str, region: str) -> None:
        delay = 0
        for rule in self.config.get("latency", []):
            if _matches(rule, service=service, region=region):
                delay = max(delay, int(rule.get("ms", 0)))
        if delay > 0:
            time.sleep(delay / 1000)

    def check_region(self, region: str, stopping: threading.Event, code: str = "ServiceUnavailableException") -> None:
        """A Region that hangs (answers 503 only after ``hang_seconds`` or at shutdown) or is unavailable."""
        cfg = self.config
        if region in cfg.get("hang", []):
            deadline = time.monotonic() + float(cfg.get("hang_seconds", 30))
            while not stopping.is_set() and time.monotonic() < deadline:
                time.sleep(0.05)  # polled: a timed Event.wait sleeps for the whole shift under libfaketime
            raise AwsError(code, "Service Unavailable", 503, sender_fault=False)
        if region in cfg.get("unavailable", []):
            raise AwsError(code, UNAVAILABLE_MESSAGE, 503, sender_fault=False)

    def key_expired(self, access_key_id: str) -> bool:
        return bool(access_key_id) and access_key_id in self.config.get("expired_keys", [])

    def check(self, req: SandboxRequest, model_id: str | None, stopping: threading.Event) -> None:
        """Raise the AwsError a fault produces for this runtime request (or hang), else return."""
        cfg = self.config
        region = req.region
        self.check_region(region, stopping)
        attrs = {"model": model_id, "region": region, "account": req.account_id}
        for rule in cfg.get("access_denied", []):
            if _matches(rule, **attrs):
                raise AwsError(
                    "AccessDeniedException", "You don't have access to the model with the specified model ID.", 403
                )
        for rule in cfg.get("not_ready", []):
            if _matches(rule, **attrs):
                raise AwsError(
                    "ModelNotReadyException",
                    "Model is not ready for inference. Wait and try your request again.",
                    429,
                )
        with self._lock:
            for rule in cfg.get("throttle", []):
                if _matches(rule, **attrs) and self._rng.random() < float(rule.get("rate", 0)):
                    raise _throttled()
            if model_id:
                self._check_quota(req, model_id, attrs)

    def _check_quota(self, req: SandboxRequest, model_id: str, attrs: dict[str, str | None]) -> None:
        rules = [r for r in self.config.get("quota", []) if _matches(r, **attrs)]
        if not rules:
            return
        now = time.monotonic()
        win = self._windows.setdefault((req.account_id, req.region, model_id), _Window())
        win.trim(now)
        estimate = math.ceil(len(req.body) / 4)
        for rule in rules:
            rpm, tpm = rule.get("rpm"), rule.get("tpm")
            if rpm is not None and len(win.requests) >= int(rpm):
                raise _throttled()
            if tpm is not None and win.token_sum() + estimate > int(tpm):
                raise _throttled()
        win.requests.append(now)

    def paced(self, events: Iterator[bytes], req: SandboxRequest, model_id: str | None) -> Iterator[bytes]:
        """``events`` with the ``stream_pace`` pause between two of them; a stream closed before its end (its
        client went away) is counted in ``streams_dropped``."""
        attrs = {"model": model_id, "region": req.region, "account": req.account_id}
        pause = max(
            (int(r.get("ms", 0)) for r in self.config.get("stream_pace", []) if _matches(r, **attrs)), default=0
        )
        finished = False
        try:
            for i, event in enumerate(events):
                if i and pause:
                    time.sleep(pause / 1000)
                yield event
            finished = True
        finally:
            if not finished:
                with self._lock:
                    self.streams_dropped += 1
            close = getattr(events, "close", None)
            if close is not None:
                close()

    def note_tokens(self, account_id: str, region: str, model_id: str, tokens: int) -> None:
        """Account a finished call's tokens against the TPM quota windows."""
        key = (account_id, region, model_id)
        with self._lock:
            if key in self._windows:
                self._windows[key].tokens.append((time.monotonic(), tokens))


def _throttled() -> AwsError:
    return AwsError("ThrottlingException", "Too many requests, please wait before trying again.", 429)


# -- admin API ----------------------------------------------------------------------------------------------
def handle_admin(sandbox: Sandbox, method: str, path: str, body: bytes) -> SandboxResponse:
    """``GET|POST|DELETE /_sandbox/faults``, ``POST /_sandbox/reset``, ``GET /_sandbox/health``."""
    if path == "/_sandbox/health" and method == "GET":
        return SandboxResponse.json({"status": "ok", "seed": sandbox.seed})
    if path == "/_sandbox/faults":
        if method == "GET":
            return SandboxResponse.json(sandbox.faults.config)
        if method == "DELETE":
            sandbox.faults.clear()
            return SandboxResponse.json({})
        if method in ("POST", "PUT"):
            try:
                config = json.loads(body or b"{}")
                if not isinstance(config, dict):
                    raise ValueError("fault configuration must be a JSON object")
                sandbox.faults.set(config)
            except ValueError as exc:
                return SandboxResponse.json({"message": str(exc)}, status=400)
            return SandboxResponse.json(sandbox.faults.config)
    if path == "/_sandbox/reset" and method == "POST":
        sandbox.reset()
        return SandboxResponse.json({"status": "reset"})
    if path == "/_sandbox/streams" and method == "GET":
        return SandboxResponse.json({"dropped": sandbox.faults.streams_dropped})
    if path == "/_sandbox/events" and method == "GET":
        return SandboxResponse.json({"count": sandbox.effects.event_count()})
    return SandboxResponse.json({"message": f"no admin route {method} {path}"}, status=404)


class SandboxAdmin:
    """Tiny client for the admin API: ``SandboxAdmin(endpoint).set_faults({...})``."""

    def __init__(self, endpoint: str, timeout: float = 10.0) -> None:
        self.endpoint = endpoint.rstrip("/")
        self.timeout = timeout

    def _call(self, method: str, path: str, payload: Any = None) -> Any:
        data = json.dumps(payload).encode() if payload is not None else None
        req = urllib.request.Request(  # noqa: S310 - the sandbox endpoint is http by design
            self.endpoint + path, data=data, method=method, headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(req, timeout=self.timeout) as resp:  # noqa: S310
            return json.loads(resp.read() or b"null")

    def set_faults(self, config: dict[str, Any]) -> dict[str, Any]:
        return dict(self._call("POST", "/_sandbox/faults", config))

    def get_faults(self) -> dict[str, Any]:
        return dict(self._call("GET", "/_sandbox/faults"))

    def clear_faults(self) -> None:
        self._call("DELETE", "/_sandbox/faults")

    def reset(self) -> None:
        self._call("POST", "/_sandbox/reset")

    def expire_key(self, access_key_id: str) -> dict[str, Any]:
        """Make the credentials of ``access_key_id`` expired from now on (fault knob ``expired_keys``)."""
        config = self.get_faults()
        keys = [k for k in config.get("expired_keys", []) if k != access_key_id]
        return self.set_faults({**config, "expired_keys": [*keys, access_key_id]})

    def health(self) -> dict[str, Any]:
        return dict(self._call("GET", "/_sandbox/health"))
