"""The one error a Livestatus request can meet: a status code and the text clients show."""

from __future__ import annotations

BAD_REQUEST = 400
"""A malformed header, an unknown column, a bad filter or value."""
FORBIDDEN = 403
NOT_FOUND = 404
"""No such table."""
TOO_LARGE = 413
"""The request or its answer is over a limit."""
INCOMPLETE = 451
"""The client stopped sending before the request was complete."""
INVALID = 452
"""A ``COMMAND`` the site refused."""


class LqlError(Exception):
    """A request the server answers with ``code`` and ``message`` instead of data."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
