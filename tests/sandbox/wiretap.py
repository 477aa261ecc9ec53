"""Record every raw response a boto3 client receives from the sandbox and judge it against botocore's model.

``WireTap.client(service)`` builds a client whose ``before-parse`` hook keeps the status, headers and body
exactly as they came off the wire, and whose ``after-call`` hook keeps botocore's parsed result; ``problems()``
validates both (``shapecheck.validate_wire`` and ``shapecheck.validate_output``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from bedrockctl.sandbox.shapecheck import validate_output, validate_wire

ROLE = "arn:aws:iam::123456789012:role/bedrock-service"
KNOWLEDGE_BASE: dict[str, Any] = {
    "roleArn": ROLE,
    "knowledgeBaseConfiguration": {
        "type": "VECTOR",
        "vectorKnowledgeBaseConfiguration": {
            "embeddingModelArn": "arn:aws:bedrock:us-east-1::foundation-model/amazon.titan-embed-text-v2:0"
        },
    },
    "storageConfiguration": {
        "type": "OPENSEARCH_SERVERLESS",
        "opensearchServerlessConfiguration": {
            "collectionArn": "arn:aws:aoss:us-east-1:123456789012:collection/abcdefghij",
            "vectorIndexName": "docs",
            "fieldMapping": {"vectorField": "v", "textField": "t", "metadataField": "m"},
        },
    },
}
"""A valid CreateKnowledgeBase request (add ``name``)."""


@dataclass
class Exchange:
    service: str
    operation: str
    status: int
    headers: dict[str, str]
    body: bytes | None  # None: a streamed payload, read by the caller
    parsed: dict[str, Any] | None = None


@dataclass
class WireTap:
    make_client: Callable[..., Any]
    exchanges: list[Exchange] = field(default_factory=list)

    def client(self, service: str, region: str = "us-east-1", **kwargs: Any) -> Any:
        client = self.make_client(service, region, **kwargs)
        events = client.meta.events

        def before_parse(operation_model: Any, response_dict: dict[str, Any], **_: Any) -> None:
            streamed = operation_model.has_streaming_output or operation_model.has_event_stream_output
            ok = response_dict["status_code"] < 300
            body = None if streamed and ok else response_dict["body"]
            headers = dict(response_dict["headers"].items())
            self.exchanges.append(Exchange(service, operation_model.name, response_dict["status_code"], headers, body))

        def after_call(parsed: dict[str, Any], model: Any, **_: Any) -> None:
            last = self.exchanges[-1]
            if last.operation == model.name and last.parsed is None:
                last.parsed = parsed

        events.register("before-parse", before_parse)
        events.register("after-call", after_call)
        return client

    def call(self, client: Any, operation: str, **params: Any) -> dict[str, Any] | None:
        """``client.<operation>(**params)``; an AWS error is recorded (and judged) like any response."""
        try:
            return getattr(client, operation)(**params)  # type: ignore[no-any-return]
        except ClientError:
            return None

    def problems(self) -> list[str]:
        out: list[str] = []
        for ex in self.exchanges:
            where = f"{ex.service}:{ex.operation}"
            out += [f"{where}: {p}" for p in validate_wire(ex.service, ex.operation, ex.status, ex.headers, ex.body)]
            if ex.status < 300 and ex.parsed is not None:
                out += [f"{where}: {p}" for p in validate_output(ex.service, ex.operation, ex.parsed)]
        return out

    def operations(self, *, ok: bool | None = None) -> set[str]:
        return {f"{ex.service}:{ex.operation}" for ex in self.exchanges if ok is None or (ex.status < 300) == ok}
