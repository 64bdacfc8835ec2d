"""Powertools' Tracer, without the X-Ray SDK where tracing is off.

`Tracer()` imports `aws_xray_sdk.core` (and with it most of botocore's and the SDK's patching machinery)
even when POWERTOOLS_TRACE_DISABLED is set: a sixth of a function's cold import. Where tracing is off
(on the emulator, which has no X-Ray: `make deploy` sets TraceDisabled) a function gets a disabled Tracer
on a provider that records nothing, so the SDK is never imported; on AWS, where tracing is on, it gets
Powertools' Tracer as it comes, every AWS call a subsegment.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Generator
from typing import Any

from aws_lambda_powertools import Tracer
from aws_lambda_powertools.shared.functions import resolve_truthy_env_var_choice
from aws_lambda_powertools.tracing.base import BaseProvider, BaseSegment

TRACE_DISABLED_ENV = "POWERTOOLS_TRACE_DISABLED"


class _NoSegment(BaseSegment):
    """A segment that keeps nothing."""

    def close(self, end_time: int | None = None) -> None:
        pass

    def add_subsegment(self, subsegment: Any) -> None:
        pass

    def remove_subsegment(self, subsegment: Any) -> None:
        pass

    def put_annotation(self, key: str, value: Any) -> None:
        pass

    def put_metadata(self, key: str, value: Any, namespace: str = "default") -> None:
        pass

    def add_exception(self, exception: BaseException, stack: Any, remote: bool = False) -> None:
        pass


class _NoTracing(BaseProvider):
    """The provider of a Tracer with tracing off: Powertools' decorators still run, and record nothing."""

    @contextlib.contextmanager
    def in_subsegment(self, name: str | None = None, **kwargs: Any) -> Generator[BaseSegment]:
        yield _NoSegment()

    @contextlib.asynccontextmanager
    async def in_subsegment_async(self, name: str | None = None, **kwargs: Any):  # type: ignore[override]
        yield _NoSegment()

    def put_annotation(self, key: str, value: Any) -> None:
        pass

    def put_metadata(self, key: str, value: Any, namespace: str = "default") -> None:
        pass

    def patch(self, modules: Any) -> None:
        pass

    def patch_all(self) -> None:
        pass


class _DisabledTracer(Tracer):
    """Powertools' Tracer with tracing off. Its own disabled path still imports the X-Ray SDK to switch the
    SDK off; on a provider that records nothing there is no SDK to switch off, and where tracing is off
    the SDK is not even deployed (it is TracingLayer's, attached only where tracing is on)."""

    @staticmethod
    def _disable_tracer_provider() -> None:
        pass


def tracing_disabled() -> bool:
    return resolve_truthy_env_var_choice(env=os.getenv(TRACE_DISABLED_ENV, "false"))


def tracer() -> Tracer:
    """The function's Tracer: Powertools' own where tracing is on, a disabled one that never imports the
    X-Ray SDK where POWERTOOLS_TRACE_DISABLED says it is off."""
    if tracing_disabled():
        return _DisabledTracer(disabled=True, provider=_NoTracing())
    return Tracer()
