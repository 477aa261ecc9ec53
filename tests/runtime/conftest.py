"""Fixtures for the runtime tests: a Runtime wired to the sandbox with an in-memory usage sink."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from bedrockctl.aws.session import SessionFactory
from bedrockctl.pricing import PriceBook
from bedrockctl.runtime import MemorySink, Runtime, RuntimeOptions
from bedrockctl.settings import AwsSettings, Settings

HAIKU = "anthropic.claude-3-haiku-20240307-v1:0"


@pytest.fixture
def make_runtime(sandbox_env: Any) -> Iterator[Callable[..., Runtime]]:
    made: list[Runtime] = []

    def make(region: str = "us-east-1", runtime: dict[str, Any] | None = None, **kwargs: Any) -> Runtime:
        aws = AwsSettings(region=region, retry_attempts=kwargs.pop("retry_attempts", 5))
        settings = kwargs.pop("settings", None) or Settings(aws=aws, runtime=dict(runtime or {}))
        settings.aws = aws
        opts = RuntimeOptions.from_dict(settings.runtime, aws.retry_attempts)
        kwargs.setdefault("usage_sink", MemorySink())
        kwargs.setdefault("prices", PriceBook.load())
        rt = Runtime(SessionFactory(aws), settings=settings, options=opts, **kwargs)
        made.append(rt)
        return rt

    yield make
    for rt in made:
        rt.close()


@pytest.fixture
def rt(make_runtime: Callable[..., Runtime]) -> Runtime:
    return make_runtime()
