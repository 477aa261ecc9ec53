"""The one alert service (gateway budgets and ``budget status --alert``): thresholds crossed per budget and window,
delivered once per channel with retries, the outcome recorded in the store. See docs/architecture.md."""

from bedrockctl.alerts.channels import Channel, LogChannel, SnsChannel, WebhookChannel, channels_for
from bedrockctl.alerts.errors import AlertDeliveryFailed
from bedrockctl.alerts.model import Alert, Outcome, budget_scope, crossed, month_window
from bedrockctl.alerts.service import AlertService, DeliveryPolicy

__all__ = [
    "Alert",
    "AlertDeliveryFailed",
    "AlertService",
    "Channel",
    "DeliveryPolicy",
    "LogChannel",
    "Outcome",
    "SnsChannel",
    "WebhookChannel",
    "budget_scope",
    "channels_for",
    "crossed",
    "month_window",
]
