"""Downtime rules: when an occurrence starts and ends, and where a recurring one goes next."""

from __future__ import annotations

from datetime import UTC, datetime

from croniter import croniter

from lookout.domain.handling import Downtime
from lookout.errors import ValidationError


def validate_recurrence(expr: str) -> None:
    """Raise ValidationError unless ``expr`` is a five-field cron expression."""
    if expr and (len(expr.split()) != 5 or not croniter.is_valid(expr)):
        raise ValidationError(
            f"recurrence {expr!r} is not a cron expression (expected 5 fields, e.g. '0 2 * * 0')",
            ("recurrence",),
        )


def next_occurrence(expr: str, after: float) -> float:
    """First time matching ``expr`` (UTC) strictly after ``after``."""
    base = datetime.fromtimestamp(after, tz=UTC)
    return float(croniter(expr, base).get_next(float))


def should_start(dt: Downtime, at: float) -> bool:
    """A fixed downtime starts by the clock; a flexible one only by a problem (see engine)."""
    return dt.started_at is None and dt.fixed and dt.start <= at < dt.end


def has_ended(dt: Downtime, at: float) -> bool:
    """The current occurrence is over (or a flexible window passed without a problem)."""
    if dt.started_at is not None:
        return at >= dt.active_until
    return at >= dt.end


def advance(dt: Downtime, at: float) -> bool:
    """Move a recurring downtime to its next occurrence; False if it does not recur."""
    if not dt.recurrence:
        return False
    length = dt.end - dt.start
    # the first later occurrence not over yet: it may have begun already (back to back)
    nxt = next_occurrence(dt.recurrence, max(at - length, dt.start))
    dt.start, dt.end, dt.started_at = nxt, nxt + length, None
    return True
