"""Micro-benchmark: CPU per SigV4 signature, the gateway's signer vs botocore's ``SigV4Auth`` (what the
runtime's sync path uses), on the request the gateway sends most: a Converse call with a session token.

Usage: .venv/bin/python bench/gateway/signer.py [--n 20000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Any

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from bedrockctl.server.gateway.sigv4 import SigV4Signer, amz_date

CREDS = Credentials("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "token-" + "x" * 400)
FROZEN = CREDS.get_frozen_credentials()
HOST = "bedrock-runtime.us-east-1.amazonaws.com"
PATH = "/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse"
BODY = (
    b'{"messages":[{"role":"user","content":[{"text":"Say hello to the benchmark."}]}],'
    b'"inferenceConfig":{"maxTokens":64},"requestMetadata":{"team":"ml","user":"ana"}}'
)


def gateway(n: int) -> None:
    signer = SigV4Signer()
    date = amz_date(int(time.time()))
    for _ in range(n):
        headers = {"content-type": "application/json", "accept": "application/json", "host": HOST}
        signer.sign("POST", PATH, headers, BODY, FROZEN, "us-east-1", "bedrock", date)


def botocore(n: int) -> None:
    auth = SigV4Auth(CREDS, "bedrock", "us-east-1")
    url = f"https://{HOST}{PATH}"
    for _ in range(n):
        req = AWSRequest(
            method="POST",
            url=url,
            data=BODY,
            headers={"Content-Type": "application/json", "Accept": "application/json"},
        )
        auth.add_auth(req)


def measure(fn: Any, n: int, repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        start = time.process_time()
        fn(n)
        out.append((time.process_time() - start) / n * 1e6)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=20000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    results = {name: measure(fn, args.n, args.repeat) for name, fn in (("gateway", gateway), ("botocore", botocore))}
    for name, values in results.items():
        print(
            f"{name:9s} {statistics.median(values):7.1f} µs/signature (CPU, median of {args.repeat} x {args.n};"
            f" min {min(values):.1f}, max {max(values):.1f})"
        )
    ratio = statistics.median(results["botocore"]) / statistics.median(results["gateway"])
    print(f"botocore / gateway: {ratio:.1f}x")


if __name__ == "__main__":
    main()
