"""botocore's service models as the sandbox reads them: which operation a REST request names.

The sandbox serves the four Bedrock APIs over rest-json; botocore's model of each (``requestUri`` templates,
HTTP methods, output shapes, error shapes) is the contract. ``find_operation`` matches a request's method and
raw (percent-encoded) path against the ``requestUri`` templates of the given services, most specific first,
so ``/agents/{agentId}/agentaliases/`` wins over ``/agents/{agentId}/``. Models are loaded on first use.
"""

from __future__ import annotations

import re
from functools import cache

import botocore.session
from botocore.model import OperationModel, ServiceModel, Shape

BEDROCK_MODEL_SERVICES = ("bedrock-runtime", "bedrock-agent-runtime", "bedrock", "bedrock-agent")
_LABEL = re.compile(r"\{([^}]+)\}")


@cache
def _session() -> botocore.session.Session:
    return botocore.session.get_session()


@cache
def service_model(service: str) -> ServiceModel:
    return _session().get_service_model(service)


@cache
def operation_model(service: str, operation: str) -> OperationModel:
    return service_model(service).operation_model(operation)


def _template_regex(uri: str) -> tuple[re.Pattern[str], int]:
    """A regex for a ``requestUri`` path template and its specificity (literal characters)."""
    path = uri.split("?", 1)[0]
    out, pos, literal = [], 0, 0
    for m in _LABEL.finditer(path):
        out.append(re.escape(path[pos : m.start()]))
        literal += m.start() - pos
        out.append("(.+)" if m.group(1).endswith("+") else "([^/]+)")
        pos = m.end()
    out.append(re.escape(path[pos:]))
    literal += len(path) - pos
    return re.compile("^" + "".join(out) + "$"), literal


@cache
def _routes(service: str) -> tuple[tuple[str, re.Pattern[str], int, str], ...]:
    model = service_model(service)
    routes = []
    for name in model.operation_names:
        http = model.operation_model(name).http
        pattern, literal = _template_regex(http["requestUri"])
        routes.append((http["method"].upper(), pattern, literal, name))
    return tuple(sorted(routes, key=lambda r: -r[2]))


def find_operation(services: tuple[str, ...], method: str, raw_path: str) -> tuple[str, OperationModel] | None:
    """The ``(service, operation)`` whose method and ``requestUri`` template match, first service first."""
    method = method.upper()
    for service in services:
        for op_method, pattern, _, name in _routes(service):
            if op_method == method and pattern.match(raw_path):
                return service, operation_model(service, name)
    return None


def error_shape(service: str, code: str) -> Shape | None:
    """The modelled error shape named ``code`` in ``service`` (None when the model does not declare it)."""
    model = service_model(service)
    return model.shape_for(code) if code in model.shape_names else None


def error_status(service: str, code: str, default: int) -> int:
    """The HTTP status the model gives error ``code`` (``error.httpStatusCode``), else ``default``."""
    shape = error_shape(service, code)
    meta = shape.metadata.get("error") if shape is not None else None
    return int(meta.get("httpStatusCode", default)) if isinstance(meta, dict) else default
