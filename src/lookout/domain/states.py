"""States of services and hosts, and the soft/hard state type."""

from __future__ import annotations

from enum import IntEnum, StrEnum


class ServiceState(IntEnum):
    OK = 0
    WARN = 1
    CRIT = 2
    UNKNOWN = 3


class HostState(IntEnum):
    UP = 0
    DOWN = 1
    UNREACHABLE = 2


class StateType(StrEnum):
    SOFT = "soft"
    HARD = "hard"


SERVICE_STATE_NAMES = ("OK", "WARN", "CRIT", "UNKNOWN")
HOST_STATE_NAMES = ("UP", "DOWN", "UNREACHABLE")


def state_name(state: int, *, is_host: bool) -> str:
    """Human name of a numeric state (``2`` → ``CRIT`` or ``UNREACHABLE``)."""
    names = HOST_STATE_NAMES if is_host else SERVICE_STATE_NAMES
    return names[state] if 0 <= state < len(names) else str(state)


def parse_state(value: str | int, *, is_host: bool) -> int:
    """Accept a number or a name (case-insensitive; ``WARNING``/``CRITICAL`` too)."""
    if isinstance(value, bool):
        raise ValueError("expected a state number or name, got a boolean")
    if isinstance(value, int):
        limit = 2 if is_host else 3
        if not 0 <= value <= limit:
            raise ValueError(f"state {value} out of range 0..{limit}")
        return value
    text = value.strip().upper()
    aliases = {"WARNING": "WARN", "CRITICAL": "CRIT"}
    text = aliases.get(text, text)
    names = HOST_STATE_NAMES if is_host else SERVICE_STATE_NAMES
    if text.isascii() and text.isdigit():
        return parse_state(int(text), is_host=is_host)
    if text not in names:
        raise ValueError(f"unknown state {value!r}, expected one of {', '.join(names)}")
    return names.index(text)
