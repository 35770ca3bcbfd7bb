"""Kubernetes resource quantities (``100m``, ``1.5Gi``, ``2e3``) as plain numbers."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

_SUFFIX = {
    "Ki": 2**10,
    "Mi": 2**20,
    "Gi": 2**30,
    "Ti": 2**40,
    "Pi": 2**50,
    "Ei": 2**60,
    "n": 1e-9,
    "u": 1e-6,
    "m": 1e-3,
    "k": 1e3,
    "M": 1e6,
    "G": 1e9,
    "T": 1e12,
    "P": 1e15,
    "E": 1e18,
}


@lru_cache(maxsize=4096)
def _parse(text: str) -> float:
    text = text.strip()
    for suffix in (text[-2:], text[-1:]):
        factor = _SUFFIX.get(suffix)
        if factor is not None and len(text) > len(suffix):
            return float(text[: -len(suffix)]) * factor
    return float(text)


def quantity(value: Any, default: float = 0.0) -> float:
    """A quantity as a float (cores for CPU, bytes for memory); ``default`` when absent or
    unparseable (a bad quantity must not break a whole cluster's evaluation)."""
    if value is None:
        return default
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    try:
        return _parse(str(value))
    except ValueError:
        return default


def get(quantities: dict[str, Any] | None, name: str, default: float = 0.0) -> float:
    """``quantities[name]`` as a number (``default`` when missing)."""
    if not quantities or name not in quantities:
        return default
    return quantity(quantities[name], default)
