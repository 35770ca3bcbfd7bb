"""Times as the API takes them: Unix seconds or ISO 8601 (without pydantic, so that the ingest
fronts, which parse ``checked_at``, need not import it)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from lookout.domain import values


def seconds(value: Any) -> float:
    """Unix seconds (int/float/numeric string) or an ISO 8601 timestamp with a time zone, as
    seconds (a ``ValueError`` otherwise)."""
    if isinstance(value, bool):
        raise ValueError("expected Unix seconds or an ISO 8601 timestamp, got a boolean")
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        text = value.strip()
        try:
            return float(text)
        except ValueError:
            pass
        try:
            dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError as exc:
            raise ValueError(f"{value!r} is neither Unix seconds nor ISO 8601") from exc
        if dt.tzinfo is None:
            raise ValueError(f"{value!r} has no time zone (add Z or +00:00)")
        return dt.timestamp()
    raise ValueError("expected Unix seconds or an ISO 8601 timestamp")


def parse_time(value: Any) -> float:
    """Unix seconds (int/float/numeric string) or an ISO 8601 timestamp with a time zone,
    between 1970 and 9999 (a ``ValueError`` otherwise, NaN and infinities included)."""
    return values.check_time(seconds(value))
