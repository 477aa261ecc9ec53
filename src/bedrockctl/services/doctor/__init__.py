"""``bedrockctl doctor``: say exactly why Bedrock access fails, and how to fix it.

Library API (for the CLI, the console and the gateway)::

    from bedrockctl.services.doctor import DoctorOptions, run
    report = run(DoctorOptions(region="us-east-1", models=["anthropic.claude-3-haiku-20240307-v1:0"], invoke=True))
    report.exit_code, report.failed(), report.to_dict()

Check ids and the JSON schema: docs/doctor.md.
"""

from __future__ import annotations

from bedrockctl.services.doctor.model import SCHEMA, Check, DoctorOptions, Report, system_resolver
from bedrockctl.services.doctor.runner import doctor_config, make_sessions, run

__all__ = ["SCHEMA", "Check", "DoctorOptions", "Report", "doctor_config", "make_sessions", "run", "system_resolver"]
