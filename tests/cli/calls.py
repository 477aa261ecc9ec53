"""Record the AWS calls a command makes, with botocore's own client-side monitoring (``AWS_CSM_ENABLED``: one UDP
datagram per API call to 127.0.0.1), and name the IAM action each one needs (AWS's Service Authorization
Reference: the action is the operation's name unless listed in ``RENAMED``)."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache

# (IAM prefix, operation) -> the IAM action that authorises it; None: no permission needed
RENAMED: dict[tuple[str, str], str | None] = {
    ("sts", "GetCallerIdentity"): None,
    ("bedrock", "Converse"): "bedrock:InvokeModel",
    ("bedrock", "ConverseStream"): "bedrock:InvokeModelWithResponseStream",
    ("budgets", "DescribeBudgets"): "budgets:ViewBudget",
    ("budgets", "DescribeBudget"): "budgets:ViewBudget",
    ("budgets", "DescribeNotificationsForBudget"): "budgets:ViewBudget",
    ("budgets", "DescribeSubscribersForNotification"): "budgets:ViewBudget",
    ("budgets", "CreateBudget"): "budgets:ModifyBudget",
    ("budgets", "UpdateBudget"): "budgets:ModifyBudget",
    ("budgets", "CreateNotification"): "budgets:ModifyBudget",
    ("budgets", "UpdateNotification"): "budgets:ModifyBudget",
    ("budgets", "CreateSubscriber"): "budgets:ModifyBudget",
    ("budgets", "DeleteSubscriber"): "budgets:ModifyBudget",
    ("s3", "ListObjectsV2"): "s3:ListBucket",
    ("s3", "HeadBucket"): "s3:ListBucket",
    ("s3", "HeadObject"): "s3:GetObject",
}
IAM_PREFIX = {"monitoring": "cloudwatch"}  # botocore's signing name -> IAM's service prefix, where they differ


@cache
def _prefixes() -> dict[str, str]:
    """botocore's serviceId (what a CSM datagram names) -> the IAM service prefix."""
    from botocore.loaders import create_loader

    loader = create_loader()
    out: dict[str, str] = {}
    for name in loader.list_available_services("service-2"):
        meta = loader.load_service_model(name, "service-2")["metadata"]
        signing = meta.get("signingName") or meta["endpointPrefix"]
        out[meta["serviceId"]] = IAM_PREFIX.get(signing, signing)
    return out


def iam_action(service_id: str, operation: str) -> str | None:
    prefix = _prefixes()[service_id]
    return RENAMED.get((prefix, operation), f"{prefix}:{operation}")


class Recorder:
    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock

    @property
    def env(self) -> dict[str, str]:
        return {"AWS_CSM_ENABLED": "true", "AWS_CSM_HOST": "127.0.0.1", "AWS_CSM_PORT": str(self.sock.getsockname()[1])}

    def actions(self) -> set[str]:
        """The IAM actions of the calls recorded since the last read."""
        found: set[str] = set()
        while True:
            try:
                data = self.sock.recv(65536)
            except BlockingIOError:
                return found
            event = json.loads(data)
            if event.get("Type") == "ApiCall":
                action = iam_action(event["Service"], event["Api"])
                if action is not None:
                    found.add(action)


@contextmanager
def recorder() -> Iterator[Recorder]:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.setblocking(False)
        yield Recorder(sock)
