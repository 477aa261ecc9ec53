"""STS in the sandbox: our answers on top of moto's (query protocol, matched on ``Action``).

- ``GetCallerIdentity`` answers from the same ``Caller`` the rest of the sandbox attributes requests to
  (CloudTrail ``userIdentity``, IAM enforcement), so the two always agree: an unknown access key is the IAM user
  ``arn:aws:iam::<account>:user/moto`` (moto itself would say ``arn:aws:sts::<account>:user/moto``).
- ``AssumeRole`` is guarded by the role's trust policy (principal and ``sts:ExternalId``), which moto does not
  evaluate; a trusted call is handed to moto (the handler returns ``None``).
"""

from __future__ import annotations

from xml.sax.saxutils import escape

from bedrockctl.sandbox import identity
from bedrockctl.sandbox.core import SandboxRequest, SandboxResponse
from bedrockctl.sandbox.dispatch import ACTIONS

NS = "https://sts.amazonaws.com/doc/2011-06-15/"


@ACTIONS.route("sts", "GetCallerIdentity")
def get_caller_identity(req: SandboxRequest) -> SandboxResponse:
    caller = req.caller
    body = (
        f'<GetCallerIdentityResponse xmlns="{NS}"><GetCallerIdentityResult>'
        f"<Arn>{escape(caller.arn)}</Arn><UserId>{escape(caller.principal_id)}</UserId>"
        f"<Account>{caller.account_id}</Account></GetCallerIdentityResult>"
        f"<ResponseMetadata><RequestId>{req.request_id}</RequestId></ResponseMetadata>"
        "</GetCallerIdentityResponse>"
    )
    return SandboxResponse(status=200, body=body.encode(), headers={"Content-Type": "text/xml"})


@ACTIONS.route("sts", "AssumeRole")
def assume_role_guard(req: SandboxRequest) -> SandboxResponse | None:
    denied: SandboxResponse | None = identity.sts_guard(req.body, req.caller.access_key_id, req.request_id)
    return denied
