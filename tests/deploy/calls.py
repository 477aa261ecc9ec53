"""Calls to a running gateway as a client of the fleet makes them: boto3 signing with a gateway key's SigV4 pair."""

from __future__ import annotations

from typing import Any

import boto3
from botocore.config import Config

HAIKU = "anthropic.claude-3-haiku-20240307-v1:0"
MESSAGES = [{"role": "user", "content": [{"text": "hello fleet"}]}]


def converse(url: str, key: dict[str, Any], max_tokens: int = 10) -> dict[str, Any]:
    """One Bedrock Converse call through the gateway at ``url`` with the key's access-key pair."""
    client = boto3.client(
        "bedrock-runtime",
        region_name="us-east-1",
        endpoint_url=url,
        aws_access_key_id=key["aws_access_key_id"],
        aws_secret_access_key=key["aws_secret_access_key"],
        config=Config(retries={"total_max_attempts": 1}),
    )
    out: dict[str, Any] = client.converse(modelId=HAIKU, messages=MESSAGES, inferenceConfig={"maxTokens": max_tokens})
    return out
