"""The IAM simulation routes register when their module is imported (see the report: server.HANDLER_PACKAGES)."""

import bedrockctl.sandbox.iam_sim  # noqa: F401
