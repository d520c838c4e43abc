"""OpenAPI operations declared beside their views, so one edit documents an endpoint.

A view carries ``@operation(path, method, describe)``; ``describe`` receives the spec builder's
helpers (:mod:`service.api.spec`: response sets, bodies, examples) and returns the operation object.
The spec collects the operations of each module in the order its views are written.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])
Describe = Callable[[Any], dict[str, Any]]

_OPERATIONS: dict[str, list[tuple[str, str, Describe]]] = {}


def operation(path: str, method: str, describe: Describe) -> Callable[[F], F]:
    """Record ``describe`` as the OpenAPI operation of ``method path``, the view's documentation."""
    def mark(view: F) -> F:
        _OPERATIONS.setdefault(view.__module__, []).append((path, method, describe))
        return view
    return mark


def operations_of(module: str) -> list[tuple[str, str, Describe]]:
    """The operations declared in ``module``, in the order of its views."""
    return list(_OPERATIONS.get(module, []))
