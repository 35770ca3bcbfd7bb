"""Lookout's exception hierarchy. Exception *types* decide what happens next.

LookoutError
 ├── ConfigError          settings or site directory invalid (exit code 2)
 ├── ValidationError      one external input is invalid; carries field path and message
 │    └── PerfdataError   a perfdata string could not be parsed
 ├── NotFound             a named object does not exist (API: 404)
 ├── Conflict             an object already exists or the change contradicts state (409)
 ├── PermissionDenied     the caller's role does not allow the action (403)
 ├── PluginError          a check raised; its service goes UNKNOWN with the message
 ├── TemporaryFailure     retry later (optionally after ``retry_after`` seconds)
 ├── PermanentFailure     give up, keep the reason
 └── StorageError         the database refused; the engine stops rather than diverge
"""

from __future__ import annotations


class LookoutError(Exception):
    """Base of every error Lookout raises on purpose."""


class ConfigError(LookoutError):
    """Settings are invalid; ``problems`` lists every one of them."""

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        super().__init__(message)
        self.problems = problems or []


class ValidationError(LookoutError):
    """An external input is invalid at ``loc`` (a path such as ``("results", 3, "state")``)."""

    def __init__(self, message: str, loc: tuple[str | int, ...] = ()) -> None:
        super().__init__(message)
        self.loc = loc


class PerfdataError(ValidationError):
    """A perfdata string could not be parsed."""


class NotFound(LookoutError):
    """A named object does not exist."""


class Conflict(LookoutError):
    """The object exists already, or the change contradicts the current state."""


class PermissionDenied(LookoutError):
    """The caller's role does not allow this."""


class PluginError(LookoutError):
    """A check plugin failed."""


class TemporaryFailure(LookoutError):
    """Try again later, after ``retry_after`` seconds when known."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class PermanentFailure(LookoutError):
    """Do not try again."""


class StorageError(LookoutError):
    """The database refused a write; state in memory may be ahead of disk."""
