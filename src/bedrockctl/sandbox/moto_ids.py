"""moto's Bedrock and Agents objects, born with the identifiers AWS would give them.

moto names an agent ``<name><8 hex>`` at version ``"1.0"``, a knowledge base ``<name><8 digits>``, a
customization job and its custom model by their names, and invents a KMS key ARN. botocore's model says an agent
or knowledge base id is ``[0-9a-zA-Z]{10}``, an agent's working version ``DRAFT``, a job ARN
``…:model-customization-job/<base model id>/<12 alnum>`` and a custom model ARN
``…:custom-model/<base model id>/<12 alnum>``. An identifier cannot be rewritten in responses (the caller
sends it back), so ``install()`` wraps the constructors of moto's model classes, once per process, to mint
AWS-shaped identifiers at creation — for objects created over HTTP and for those the seeds create in-process —
and the backend's lookups to accept a job's or custom model's ARN where moto only knows names. Everything else
about those objects stays moto's.
"""

from __future__ import annotations

import hashlib
import secrets
import string
import threading
from collections.abc import Callable
from typing import Any

_UPPER_ALNUM = string.ascii_uppercase + string.digits
_LOWER_ALNUM = string.ascii_lowercase + string.digits
_installed = threading.Lock()
_DONE = "_bedrockctl_aws_ids"


def _random_id(length: int, alphabet: str) -> str:
    return "".join(secrets.choice(alphabet) for _ in range(length))


def _arn_prefix(arn: str) -> str:
    """``arn:<partition>:bedrock:<region>:<account>:`` of an ARN moto built."""
    return ":".join(arn.split(":")[:5]) + ":"


def _base_model_id(identifier: str) -> str:
    return identifier.rsplit("/", 1)[-1] if identifier else "unknown.model"


def _suffix_for(job_arn: str) -> str:
    """The 12-character id of the custom model a job produces (derived from the job ARN, so the job's
    ``outputModelArn`` and the model's ``modelArn`` agree without either knowing the other)."""
    digest = hashlib.sha256(job_arn.encode()).digest()
    return "".join(_LOWER_ALNUM[b % len(_LOWER_ALNUM)] for b in digest[:12])


def _agent(agent: Any) -> None:
    agent.agent_id = _random_id(10, _UPPER_ALNUM)
    agent.agent_arn = f"{_arn_prefix(agent.agent_arn)}agent/{agent.agent_id}"
    agent.agent_version = "DRAFT"
    agent.recommended_actions = []
    if agent.idle_session_ttl_in_seconds is None:
        # AWS stores a default when CreateAgent leaves it out (GetAgent returns it as required); 600 s is the
        # idle session timeout the Bedrock console proposes.
        agent.idle_session_ttl_in_seconds = 600


def _knowledge_base(kb: Any) -> None:
    kb.knowledge_base_id = _random_id(10, _UPPER_ALNUM)
    kb.knowledge_base_arn = f"{_arn_prefix(kb.knowledge_base_arn)}knowledge-base/{kb.knowledge_base_id}"
    kb.status = "ACTIVE"


def _customization_job(job: Any) -> None:
    base = _base_model_id(job.base_model_identifier)
    job.job_arn = f"{_arn_prefix(job.job_arn)}model-customization-job/{base}/{_random_id(12, _LOWER_ALNUM)}"
    job.output_model_arn = f"{_arn_prefix(job.job_arn)}custom-model/{base}/{_suffix_for(job.job_arn)}"
    job.output_model_name = job.custom_model_name
    job.output_model_kms_key_arn = job.custom_model_kms_key_id or None
    job.failure_message = None  # moto sets "Failure Message" on every job
    job.end_time = None if job.status == "InProgress" else job.end_time


def _custom_model(model: Any) -> None:
    base = _base_model_id(model.base_model_arn)
    model.model_arn = f"{_arn_prefix(model.model_arn)}custom-model/{base}/{_suffix_for(model.job_arn)}"


def _key_by_arn(items: dict[str, Any], identifier: str, arn_attribute: str) -> str:
    """The name moto keys an object by, from its name, its ARN or the ARN's last segment (what moto's HTTP
    handler passes on when the caller sends an ARN)."""
    if identifier in items:
        return identifier
    for name, item in items.items():
        arn = str(getattr(item, arn_attribute))
        if arn == identifier or arn.endswith("/" + identifier):
            return name
    return identifier


def _job_key(backend: Any, identifier: str) -> str:
    return _key_by_arn(backend.model_customization_jobs, identifier, "job_arn")


def _model_key(backend: Any, identifier: str) -> str:
    return _key_by_arn(backend.custom_models, identifier, "model_arn")


def _wrap_lookup(cls: Any, method: str, key: Callable[[Any, str], str]) -> None:
    """Let ``cls.method(identifier)`` accept an ARN (or its id) where moto only knows names, as AWS does."""
    original = getattr(cls, method)
    if getattr(original, _DONE, False):
        return

    def lookup(self: Any, *args: Any, **kwargs: Any) -> Any:
        if args:
            args = (key(self, str(args[0])), *args[1:])
        else:
            name = next(iter(kwargs))
            kwargs[name] = key(self, str(kwargs[name]))
        return original(self, *args, **kwargs)

    setattr(lookup, _DONE, True)
    setattr(cls, method, lookup)


def _wrap(cls: Any, fix: Callable[[Any], None]) -> None:
    if getattr(cls, _DONE, False):
        return
    original = cls.__init__

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        fix(self)

    cls.__init__ = __init__
    setattr(cls, _DONE, True)


def install() -> None:
    """Wrap moto's Agent, KnowledgeBase, ModelCustomizationJob and CustomModel constructors, and the job and
    custom-model lookups (idempotent)."""
    with _installed:
        from moto.bedrock import models as bedrock_models
        from moto.bedrockagent import models as agent_models

        _wrap(agent_models.Agent, _agent)
        _wrap(agent_models.KnowledgeBase, _knowledge_base)
        _wrap(bedrock_models.ModelCustomizationJob, _customization_job)
        _wrap(bedrock_models.CustomModel, _custom_model)
        backend = bedrock_models.BedrockBackend
        for method in ("get_model_customization_job", "stop_model_customization_job"):
            _wrap_lookup(backend, method, _job_key)
        for method in ("get_custom_model", "delete_custom_model"):
            _wrap_lookup(backend, method, _model_key)
