"""AWS error responses in the wire protocol of the request, so every SDK parses the sandbox's own errors.

The protocol is read off the request the way the SDKs chose it: ``X-Amz-Target`` means awsJson (``__type``),
``smithy-protocol: rpc-v2-cbor`` means Smithy RPC v2 CBOR, a form body or ``Action=`` query means awsQuery
(EC2 has its own ``<Response><Errors>`` envelope), S3 is rest-xml, anything else is rest-json
(``x-amzn-ErrorType`` header + ``{"message"}``, the Bedrock services).
"""

from __future__ import annotations

import json
import struct
from collections.abc import Mapping
from xml.sax.saxutils import escape

from bedrockctl.sandbox.core import AwsError, SandboxResponse

REST_XML_SERVICES = frozenset({"s3", "s3-control", "route53", "cloudfront"})
QUERY_NAMESPACES = {
    "sts": "https://sts.amazonaws.com/doc/2011-06-15/",
    "iam": "https://iam.amazonaws.com/doc/2010-05-08/",
    "sns": "http://sns.amazonaws.com/doc/2010-03-31/",
}


def protocol_for(service: str, headers: Mapping[str, str], query: Mapping[str, list[str]], body: bytes) -> str:
    """``rest-json`` | ``json`` | ``cbor`` | ``query`` | ``ec2`` | ``rest-xml`` for a request."""
    lower = {k.lower(): v for k, v in headers.items()}
    if service in REST_XML_SERVICES:
        return "rest-xml"
    if lower.get("smithy-protocol", "").lower() == "rpc-v2-cbor":
        return "cbor"
    if lower.get("x-amz-target"):
        return "json"
    ctype = lower.get("content-type", "")
    if "x-www-form-urlencoded" in ctype or "Action" in query or body.startswith(b"Action="):
        return "ec2" if service == "ec2" else "query"
    return "rest-json"


def _cbor_text(text: str) -> bytes:
    raw = text.encode()
    n = len(raw)
    if n < 24:
        head = bytes([0x60 | n])
    elif n < 256:
        head = bytes([0x78, n])
    elif n < 65536:
        head = b"\x79" + struct.pack(">H", n)
    else:
        head = b"\x7a" + struct.pack(">I", n)
    return head + raw


def cbor_map(values: dict[str, str]) -> bytes:
    """A CBOR map of text strings (all an error body needs)."""
    out = bytes([0xA0 | len(values)])
    for key, value in values.items():
        out += _cbor_text(key) + _cbor_text(value)
    return out


def render_error(err: AwsError, service: str, request_id: str, protocol: str = "rest-json") -> SandboxResponse:
    """``err`` as the service's protocol renders it (status, headers and body botocore's parsers read)."""
    code, message = err.code, err.message
    fault = "Sender" if err.sender_fault else "Receiver"
    if protocol in ("query", "ec2", "rest-xml"):
        msg = escape(message)
        if protocol == "query":
            ns = QUERY_NAMESPACES.get(service, f"https://{service}.amazonaws.com/doc/")
            xml = (
                f'<ErrorResponse xmlns="{ns}"><Error><Type>{fault}</Type><Code>{code}</Code>'
                f"<Message>{msg}</Message></Error><RequestId>{request_id}</RequestId></ErrorResponse>"
            )
        elif protocol == "ec2":
            xml = (
                f"<Response><Errors><Error><Code>{code}</Code><Message>{msg}</Message></Error></Errors>"
                f"<RequestID>{request_id}</RequestID></Response>"
            )
        else:
            xml = f"<Error><Code>{code}</Code><Message>{msg}</Message><RequestId>{request_id}</RequestId></Error>"
        headers = {"Content-Type": "text/xml", "x-amzn-RequestId": request_id}
        return SandboxResponse(status=err.status, body=xml.encode(), headers=headers)
    if protocol == "cbor":
        headers = {"Content-Type": "application/cbor", "smithy-protocol": "rpc-v2-cbor", "x-amzn-RequestId": request_id}
        body = cbor_map({"__type": code, "message": message})
        return SandboxResponse(status=err.status, body=body, headers=headers)
    if protocol == "json":
        headers = {"Content-Type": "application/x-amz-json-1.1", "x-amzn-RequestId": request_id}
        body_json = json.dumps({"__type": code, "message": message}).encode()
        return SandboxResponse(status=err.status, body=body_json, headers=headers)
    headers = {"Content-Type": "application/json", "x-amzn-ErrorType": code, "x-amzn-RequestId": request_id}
    return SandboxResponse(status=err.status, body=json.dumps({"message": message}).encode(), headers=headers)


def unavailable_error(protocol: str) -> AwsError:
    """The 503 a Region that is down answers (``ServiceUnavailable`` in the XML protocols)."""
    code = "ServiceUnavailable" if protocol in ("query", "ec2", "rest-xml") else "ServiceUnavailableException"
    return AwsError(code, "The service is currently unavailable. Please try again later.", 503, sender_fault=False)


def expired_token_error(service: str, protocol: str) -> AwsError:
    """What AWS answers for temporary credentials past their expiry."""
    message = "The security token included in the request is expired"
    if protocol in ("query", "ec2", "rest-xml"):
        return AwsError("ExpiredToken", message, 400)
    return AwsError("ExpiredTokenException", message, 403 if service.startswith("bedrock") else 400)


def unknown_operation_error(method: str, path: str, protocol: str) -> AwsError:
    """An operation the sandbox does not serve (AWS's answer for an unknown operation: 404, not a 500)."""
    code = "InvalidAction" if protocol in ("query", "ec2") else "UnknownOperationException"
    status = 400 if protocol in ("query", "ec2") else 404
    return AwsError(code, f"The sandbox does not implement this operation ({method} {path}).", status)


# The error type AWS's request front end sends for a request without credentials (a type name, no secret).
MISSING_AUTH_ERROR_TYPE = (
    "MissingAuthenticationTokenException:http://internal.amazon.com/coral/com.amazon.coral.service/"
)


def missing_token_response(request_id: str) -> SandboxResponse:
    """AWS's answer to a rest-json request that carries no credentials at all: 403 with the framework error
    type (the SDKs keep the part before ``:``) and ``{"message":"Missing Authentication Token"}``."""
    headers = {
        "Content-Type": "application/json",
        "x-amzn-ErrorType": MISSING_AUTH_ERROR_TYPE,
        "x-amzn-RequestId": request_id,
    }
    return SandboxResponse(status=403, body=b'{"message":"Missing Authentication Token"}', headers=headers)
