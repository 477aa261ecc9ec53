"""``shapes.check_body`` (hand-written, so that it also checks what botocore leaves to the server) agrees with
botocore's own ``ParamValidator`` on the same service model: every body botocore rejects is rejected, and what only
``check_body`` rejects is one of the checks botocore does not make (maxima, 32-bit integers, booleans as numbers,
non-finite numbers, unions set with nulls)."""

from __future__ import annotations

import re
from typing import Any

from botocore.validate import ParamValidator
from hypothesis import HealthCheck, given, settings

from bedrockctl.server.gateway.shapes import check_body, input_shape

from .test_edge_fuzz import CONVERSE, mutated

ONLY_OURS = re.compile(
    r"less than or equal|at most|be an integer|be a finite number|exactly one of|greater than or equal to -?\d+"
)


def _botocore_errors(operation: str, body: Any) -> list[tuple[str, str, dict[str, Any]]]:
    report = ParamValidator().validate({**body, "modelId": "m"}, input_shape(operation))
    return [
        e
        for e in report._errors  # (error type, name, details); a member set to null is a member not set
        if e[0] != "unknown field" and not (e[0] == "invalid type" and e[2].get("param") is None and e[1][-1:] != "]")
    ]


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=mutated(CONVERSE))
def test_check_body_agrees_with_botocore(body: Any) -> None:
    if not isinstance(body, dict):
        assert check_body("Converse", body) is not None
        return
    theirs = _botocore_errors("Converse", body)
    ours = check_body("Converse", body)
    if theirs:
        assert ours is not None, theirs
    elif ours is not None:
        assert ONLY_OURS.search(ours.message) or "is required" in ours.message, (ours, body)


def test_the_probes_bodies() -> None:
    def problem(**changes: Any) -> str:
        body = {**CONVERSE, **changes}
        found = check_body("Converse", body)
        assert found is not None, changes
        return f"{found.path}: {found.message}"

    assert problem(inferenceConfig="abc").startswith("inferenceConfig: Value str")
    assert "greater than or equal to 1" in problem(inferenceConfig={"maxTokens": -1_000_000_000})
    assert "less than or equal to 2147483647" in problem(inferenceConfig={"maxTokens": 2**63})
    assert "be an integer" in problem(inferenceConfig={"maxTokens": 1e30})
    assert "be an integer" in problem(inferenceConfig={"maxTokens": True})
    assert "finite number" in problem(inferenceConfig={"temperature": {}})
    assert "less than or equal to 1" in problem(inferenceConfig={"temperature": 1.5})
    assert problem(inferenceConfig={"stopSequences": 123}).startswith("inferenceConfig.stopSequences:")
    assert problem(toolConfig={"tools": [1]}).startswith("toolConfig.tools[0]:")
    assert "exactly one of" in problem(messages=[{"role": "user", "content": [{"text": "a", "image": None, "x": 1}]}])
    assert "at least 1" in problem(requestMetadata={"": "x"})  # map keys have their shape too
    assert "exactly one of" in problem(messages=[{"role": "user", "content": [{"text": "a", "image": None}]}])
    assert check_body("Converse", {**CONVERSE, "inferenceConfig": {"maxTokens": 4096}}) is None
    assert check_body("Converse", {**CONVERSE, "additionalModelRequestFields": [1, "any JSON"]}) is None
