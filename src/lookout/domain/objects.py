"""Configured objects: hosts and services, as the engine sees them."""

from __future__ import annotations

from typing import Any

import msgspec


class HostConfig(msgspec.Struct, frozen=True, kw_only=True):
    """A monitored object. ``check`` is an active check config (None: passive or unchecked)."""

    name: str
    address: str = ""
    labels: dict[str, str] = msgspec.field(default_factory=dict)
    parents: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    check: dict[str, Any] | None = None
    check_interval: float = 60.0
    retry_interval: float = 60.0
    max_check_attempts: int = 1
    event_handler: dict[str, Any] | None = None
    """A command run on every state change: ``{"command", "args", "timeout"}`` (None: none)."""


class ServiceConfig(msgspec.Struct, frozen=True, kw_only=True):
    """One thing checked on a host. ``check`` None means passive (results are submitted).
    ``stale_after`` is the number of intervals without a result after which it goes UNKNOWN
    (0 disables staleness)."""

    host: str
    name: str
    check: dict[str, Any] | None = None
    check_interval: float = 60.0
    retry_interval: float = 60.0
    max_check_attempts: int = 3
    stale_after: float = 3.0
    params: dict[str, Any] = msgspec.field(default_factory=dict)
    labels: dict[str, str] = msgspec.field(default_factory=dict)
    event_handler: dict[str, Any] | None = None
    """A command run on every state change: ``{"command", "args", "timeout"}`` (None: none)."""
    depends_on: tuple[tuple[str, str], ...] = ()
    """``(host, service)`` of services this one depends on: while one of them has a problem,
    this service's problem is that one's consequence (shown with it, not notified alone)."""
