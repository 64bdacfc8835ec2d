"""A function's settings, parsed once from the environment template.yaml gives it (code_deploy.settings).

Parsed at the first event, not in the cold import: the settings are pydantic models, and a cold start
that answers a refusal or a GET never needs pydantic.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any


def lazy_settings(kind: str) -> Callable[[], Any]:
    """A function returning the settings of class `kind` of code_deploy.settings, made at its first call."""

    @cache
    def load() -> Any:
        from code_deploy import settings  # deferred: see the module's docstring

        return getattr(settings, kind).from_env()

    return load
