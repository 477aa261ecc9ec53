"""Where alerts go: a webhook (JSON POST, delivered only on a 2xx answer), an SNS topic (delivered only with a
``MessageId``; published through the session factory's client), or the server log.

``deliver`` returns a receipt (``HTTP 204``, the SNS ``MessageId``) or raises ``AlertDeliveryFailed``; error texts
name the webhook's host, never its URL (a webhook URL often carries a token).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any, Protocol

import httpx

from bedrockctl.alerts.errors import AlertDeliveryFailed
from bedrockctl.aws.errors import aws_call
from bedrockctl.errors import BedrockctlError
from bedrockctl.settings import EnvironmentSettings

log = logging.getLogger("bedrockctl.alerts")
SNS_SUBJECT_MAX = 99  # SNS allows 100 printable ASCII characters


class Channel(Protocol):
    name: str

    def deliver(self, subject: str, body: dict[str, Any]) -> str: ...


class WebhookChannel:
    """POST the alert as JSON; anything but a 2xx answer (or no answer within ``timeout``) is a failure."""

    name = "webhook"

    def __init__(self, url: str, *, timeout: float = 5.0, client: httpx.Client | None = None) -> None:
        self.url = url
        self.timeout = timeout
        self._client = client
        try:
            parsed = httpx.URL(url)
            self.host = parsed.host if parsed.scheme in ("http", "https") else ""
        except httpx.InvalidURL:
            self.host = ""

    def deliver(self, subject: str, body: dict[str, Any]) -> str:
        if not self.host:  # recorded as a failed delivery: the operator sees it where alerts are shown
            raise AlertDeliveryFailed(
                "the alert webhook URL is invalid", remediation="Set an http:// or https:// URL with a host."
            )
        client = self._client or httpx.Client()
        try:
            resp = client.post(self.url, json=body, timeout=self.timeout)
        except httpx.TimeoutException as exc:
            raise AlertDeliveryFailed(f"webhook {self.host}: no answer within {self.timeout:g} s") from exc
        except httpx.HTTPError as exc:
            raise AlertDeliveryFailed(f"webhook {self.host}: {type(exc).__name__}") from exc
        finally:
            if self._client is None:
                client.close()
        if not 200 <= resp.status_code < 300:
            raise AlertDeliveryFailed(f"webhook {self.host} answered HTTP {resp.status_code}")
        return f"HTTP {resp.status_code}"


class SnsChannel:
    """Publish to an SNS topic in the topic's Region, with the session factory's credentials."""

    def __init__(self, sessions: Any, topic_arn: str) -> None:
        self.sessions = sessions
        self.topic_arn = topic_arn
        self.name = f"sns:{topic_arn}"
        parts = topic_arn.split(":")
        self.region = parts[3] if len(parts) > 5 and parts[3] else None

    def deliver(self, subject: str, body: dict[str, Any]) -> str:
        try:
            client = self.sessions.client("sns", self.region)
            resp = aws_call(
                client.publish,
                TopicArn=self.topic_arn,
                Subject=_ascii(subject)[:SNS_SUBJECT_MAX],
                Message=json.dumps(body),
                service="sns",
            )
        except BedrockctlError as exc:
            raise AlertDeliveryFailed(f"SNS {self.topic_arn}: {exc.message}", remediation=exc.remediation) from exc
        message_id = resp.get("MessageId") if isinstance(resp, dict) else None
        if not message_id:
            raise AlertDeliveryFailed(f"SNS {self.topic_arn} answered without a MessageId")
        return str(message_id)


class LogChannel:
    """The server's log (a warning line): the gateway records every crossed threshold even without a webhook."""

    name = "log"

    def deliver(self, subject: str, body: dict[str, Any]) -> str:
        log.warning("%s (%s)", subject, json.dumps(body, sort_keys=True))
        return "logged"


def _ascii(text: str) -> str:
    return "".join(c if " " <= c <= "~" else "?" for c in text)


def channels_for(
    env: EnvironmentSettings | None,
    gateway: Mapping[str, Any],
    sessions: Any,
    *,
    http: httpx.Client | None = None,
) -> list[Channel]:
    """The channels of a budget in ``env``: the environment's ``alert_webhook_url`` / ``alert_sns_topic``, else the
    gateway's ``webhook_url`` / ``sns_topic_arn``."""
    url = (env.alert_webhook_url if env else None) or gateway.get("webhook_url")
    topic = (env.alert_sns_topic if env else None) or gateway.get("sns_topic_arn")
    out: list[Channel] = []
    if url:
        out.append(WebhookChannel(str(url), client=http))
    if topic and sessions is not None:
        out.append(SnsChannel(sessions, str(topic)))
    return out
