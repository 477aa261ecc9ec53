"""The gateway's hand-written SigV4 signer (``server/gateway/sigv4.py``) signs exactly as botocore's ``SigV4Auth``.

Hypothesis draws requests (method; a path with reserved, unicode and percent-escaped characters, ``.``/``..``
segments and double slashes; a query with repeated keys, empty values and reserved characters; headers with mixed
case and runs of whitespace; an empty or random body; a session token or none; service, Region, credentials and
a fixed signing time), signs each with both signers and compares the headers they set. The number of examples is
``BEDROCKCTL_SIGV4_EXAMPLES`` (default 3,000).
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from typing import Any
from unittest import mock

import botocore.auth
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.utils import percent_encode
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bedrockctl.aws.session import SessionFactory
from bedrockctl.runtime.wire import WireRequest
from bedrockctl.server.gateway.sigv4 import SigV4Signer, amz_date, host_header
from bedrockctl.server.gateway.upstream import FastTransport
from bedrockctl.settings import AwsSettings

EXAMPLES = int(os.environ.get("BEDROCKCTL_SIGV4_EXAMPLES", "3000"))
COMPARED = ("authorization", "x-amz-date", "x-amz-security-token", "x-amz-content-sha256", "date")

# -- strategies -----------------------------------------------------------------------------------------------
UNRESERVED = "ABCXYZabcxyz0189-._~"
SUB_DELIMS = "!$&'()*+,;=:@"
unicode_text = st.text(
    st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp"), blacklist_characters="?#/"), min_size=1, max_size=4
)
escape = st.sampled_from(["%2F", "%3A", "%20", "%25", "%2e", "%2E%2E", "%7E", "%zz", "%"])
segment = st.one_of(
    st.just(""),
    st.just("."),
    st.just(".."),
    st.text(st.sampled_from(UNRESERVED + SUB_DELIMS + ' [] "<>^`{|}\\'), min_size=1, max_size=12),
    st.lists(
        st.one_of(st.text(st.sampled_from(UNRESERVED), min_size=1, max_size=5), escape, unicode_text), max_size=4
    ).map("".join),
)
path = st.lists(segment, min_size=0, max_size=7).map(lambda parts: "/" + "/".join(parts))
query_word = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="#&=\t\r\n"), min_size=0, max_size=8
)
raw_query = st.text(st.sampled_from(UNRESERVED + SUB_DELIMS + "%/?[] "), max_size=30)  # as written by hand
encoded_query = st.lists(st.tuples(query_word, query_word), max_size=6).flatmap(
    lambda pairs: (
        st.just("&".join(f"{percent_encode(k)}={percent_encode(v)}" for k, v in pairs))
        | st.just("&".join(percent_encode(k) + ("=" if v else "") + percent_encode(v) for k, v in pairs))
    )
)
repeated_keys = st.lists(query_word, min_size=1, max_size=4).map(
    lambda values: "&".join(f"k={percent_encode(v)}" for v in values)
)
query = st.one_of(st.none(), st.just(""), encoded_query, repeated_keys, raw_query)

token_chars = st.sampled_from("abcdefghijklmnopqrstuvwxyz0123456789-")
header_name = st.text(token_chars, min_size=1, max_size=16).map(lambda n: "x-" + n)
spaces = st.sampled_from([" ", "  ", "\t", " \t ", ""])
header_value = st.lists(
    st.one_of(st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1, max_size=10), spaces),
    max_size=6,
).map("".join)
known_headers = st.sampled_from(
    [
        "content-type",
        "accept",
        "x-amzn-bedrock-accept",
        "x-amzn-bedrock-trace",
        "x-amzn-bedrock-guardrailidentifier",
        "x-amzn-bedrock-guardrailversion",
        "x-amzn-bedrock-performanceconfig-latency",
        "user-agent",
        "x-amzn-trace-id",
        "expect",
        "connection",
        "x-amz-content-sha256",
        "x-amz-date",
        "date",
        "authorization",
        "content-md5",
    ]
)


def _mixed_case(draw: Any, name: str) -> str:
    flips = draw(st.lists(st.booleans(), min_size=len(name), max_size=len(name)))
    return "".join(c.upper() if f else c for c, f in zip(name, flips, strict=True))


@st.composite
def headers(draw: Any) -> dict[str, str]:
    names = draw(st.lists(st.one_of(known_headers, header_name), max_size=8, unique=True))
    return {_mixed_case(draw, n): draw(header_value) for n in names}


@st.composite
def endpoints(draw: Any) -> str:
    scheme = draw(st.sampled_from(["https", "http"]))
    host = draw(
        st.sampled_from(
            [
                "bedrock-runtime.us-east-1.amazonaws.com",
                "Bedrock-Runtime.EU-West-3.amazonaws.com",
                "vpce-0abc-xyz.bedrock-runtime.us-west-2.vpce.amazonaws.com",
                "127.0.0.1",
                "[::1]",
                "localhost",
            ]
        )
    )
    port = draw(st.sampled_from([None, 80, 443, 8443, 4566]))
    prefix = draw(st.sampled_from(["", "/proxy", "/a/b"]))
    return f"{scheme}://{host}{'' if port is None else f':{port}'}{prefix}"


access_key = st.text(st.sampled_from("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"), min_size=16, max_size=20).map(
    lambda s: "AKIA" + s
)
secret_key = st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1, max_size=40)
session_token = st.one_of(st.none(), st.just(""), st.text(st.sampled_from("AZaz09+/="), min_size=1, max_size=60))
# a fixed signing time drawn from a window around a fixed instant (no wall clock involved)
signing_time = st.integers(min_value=0, max_value=20 * 365 * 86400).map(
    lambda s: datetime(2015, 1, 1, tzinfo=UTC) + timedelta(seconds=s)
)


# -- the comparison -------------------------------------------------------------------------------------------
def botocore_headers(
    method: str, url: str, hdrs: dict[str, str], body: bytes, creds: Credentials, service: str, region: str, at: Any
) -> dict[str, str]:
    request = AWSRequest(method=method, url=url, data=body, headers=dict(hdrs))
    with mock.patch.object(botocore.auth, "get_current_datetime", lambda: at.replace(tzinfo=None)):
        SigV4Auth(creds, service, region).add_auth(request)
    return {k.lower(): v for k, v in request.headers.items()}


def gateway_headers(
    method: str, url: str, hdrs: dict[str, str], body: bytes, creds: Credentials, service: str, region: str, at: Any
) -> dict[str, str]:
    rest = url.partition("://")[2]
    target = "/" + rest.partition("/")[2] if "/" in rest else "/"
    signed = {k.lower(): v for k, v in hdrs.items()}
    signed["host"] = host_header(url)
    SigV4Signer().sign(
        method, target, signed, body, creds.get_frozen_credentials(), region, service, amz_date(int(at.timestamp()))
    )
    return signed


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    method=st.sampled_from(["GET", "POST", "PUT", "DELETE", "HEAD", "PATCH", "post"]),
    base=endpoints(),
    path=path,
    query=query,
    hdrs=headers(),
    body=st.one_of(st.just(b""), st.binary(max_size=256), st.just(b'{"messages":[]}')),
    creds=st.builds(Credentials, access_key, secret_key, session_token),
    service=st.sampled_from(["bedrock", "bedrock-runtime", "sts", "s3-outposts", "execute-api"]),
    region=st.sampled_from(["us-east-1", "eu-west-3", "ap-southeast-2", "us-gov-west-1", "cn-north-1"]),
    at=signing_time,
)
def test_gateway_signer_equals_botocore(
    method: str,
    base: str,
    path: str,
    query: str | None,
    hdrs: dict[str, str],
    body: bytes,
    creds: Credentials,
    service: str,
    region: str,
    at: datetime,
) -> None:
    url = base + path + ("" if query is None else "?" + query)
    want = botocore_headers(method, url, hdrs, body, creds, service, region, at)
    got = gateway_headers(method, url, hdrs, body, creds, service, region, at)
    for name in COMPARED:
        assert got.get(name) == want.get(name), name
    assert "authorization" in got


def test_the_comparison_fails_on_a_wrong_signature() -> None:
    """Guard against a vacuous comparison: a one-character change in what is signed changes the header."""
    creds = Credentials("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
    at = datetime(2025, 6, 14, 9, 30, tzinfo=UTC)
    url = "https://bedrock-runtime.us-east-1.amazonaws.com/model/m/converse"
    want = botocore_headers("POST", url, {}, b"{}", creds, "bedrock", "us-east-1", at)
    assert gateway_headers("POST", url, {}, b"{}", creds, "bedrock", "us-east-1", at) == {
        **want,
        "host": "bedrock-runtime.us-east-1.amazonaws.com",
    }
    assert gateway_headers("POST", url, {}, b"{ }", creds, "bedrock", "us-east-1", at) != want


def test_aws_documented_example_signature() -> None:
    """AWS's published SigV4 test vector (get-vanilla-query-order-key-case, aws-sig-v4-test-suite)."""
    creds = Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
    headers = {"host": "example.amazonaws.com"}
    SigV4Signer().sign(
        "GET", "/?Param2=value2&Param1=value1", headers, b"", creds, "us-east-1", "service", "20150830T123600Z"
    )
    assert headers["authorization"] == (
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
        "SignedHeaders=host;x-amz-date, "
        "Signature=b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500"
    )


def test_fast_transport_signs_what_it_sends() -> None:
    """``FastTransport.sign`` feeds the signer the headers it sends (defaults, forwarded headers, host)."""
    settings = AwsSettings(
        region="us-east-1",
        access_key_id="AKIAIOSFODNN7EXAMPLE",
        secret_access_key="secret",
        session_token="token",
        endpoint_url="http://127.0.0.1:4566/prefix",
    )
    transport = FastTransport(SessionFactory(settings, env={}))
    req = WireRequest(
        "bedrock-runtime", "InvokeModel", "/model/a%3Ab/invoke", b"{}", {"X-Amzn-Bedrock-Trace": "ENABLED"}
    )
    _, host, _, _, prefix = transport._base("bedrock-runtime", "us-east-1")
    sent = transport.sign(req, host, "us-east-1", prefix + req.path)
    at = datetime.strptime(sent["x-amz-date"], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    unsigned = {k: v for k, v in sent.items() if k not in ("authorization", "x-amz-date", "x-amz-security-token")}
    creds = Credentials("AKIAIOSFODNN7EXAMPLE", "secret", "token")
    url = "http://127.0.0.1:4566/prefix/model/a%3Ab/invoke"
    want = botocore_headers("POST", url, unsigned, b"{}", creds, "bedrock", "us-east-1", at)
    assert sent["authorization"] == want["authorization"]
    assert sent["host"] == "127.0.0.1:4566" and sent["x-amzn-bedrock-trace"] == "ENABLED"
    assert sent["x-amz-security-token"] == "token"
