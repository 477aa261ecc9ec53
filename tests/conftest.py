"""Shared pytest configuration: the offline AWS sandbox fixtures."""

pytest_plugins = ["bedrockctl.sandbox.testing"]
