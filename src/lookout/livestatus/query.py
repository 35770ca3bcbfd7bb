"""Reading a request: the first line, then ``Name: value`` header lines.

Framing headers (``ResponseHeader``, ``KeepAlive``, ``OutputFormat``, ``ColumnHeaders``,
``Separators``) are read here, leniently, so that even a request with a bad header gets its
error in the framing the client asked for; the rest are compiled against the table later.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from lookout.livestatus.errors import BAD_REQUEST, LqlError

FORMATS = ("csv", "json", "python", "python3", "wrapped_json")
DEFAULT_SEPARATORS = ("\n", ";", ",", "|")
"""Dataset, field, list and host/service separators of CSV output."""
_HEADER = re.compile(r"([A-Za-z]+):(?: (.*)|)")


@dataclass(slots=True)
class Request:
    method: str
    """``GET`` or ``COMMAND``."""
    target: str
    """The table of a GET; the first command line of a COMMAND request."""
    headers: list[tuple[str, str]] = field(default_factory=list)
    commands: list[str] = field(default_factory=list)
    fixed16: bool = False
    keepalive: bool = False
    output_format: str = "csv"
    column_headers: bool | None = None
    separators: tuple[str, str, str, str] = DEFAULT_SEPARATORS
    error: LqlError | None = None
    """The first problem found while reading (answered instead of data)."""

    def fail(self, message: str, code: int = BAD_REQUEST) -> None:
        if self.error is None:
            self.error = LqlError(code, message)


def parse_request(text: str) -> Request:
    """A request from its text (lines without the final empty line)."""
    lines = [ln.removesuffix("\r") for ln in text.split("\n")]
    while lines and not lines[-1]:
        lines.pop()
    first = lines[0] if lines else ""
    method, _, rest = first.partition(" ")
    if method == "GET":
        req = Request("GET", rest.strip())
        if not req.target:
            req.fail("Invalid GET request: no table named (GET hosts)")
    elif method == "COMMAND":
        req = Request("COMMAND", first, commands=[first])
    else:
        req = Request("", first)
        req.fail(f"Invalid request method in {first[:80]!r}: expected GET or COMMAND")
    for ln in lines[1:]:
        if req.method == "COMMAND" and ln.startswith("COMMAND "):
            req.commands.append(ln)
            continue
        match = _HEADER.fullmatch(ln)
        if match is None:
            req.fail(f"Invalid header line {ln[:80]!r}: expected 'Name: value'")
            continue
        name, value = match.group(1), (match.group(2) or "").strip()
        if not _framing(req, name, value):
            req.headers.append((name, value))
    return req


def _framing(req: Request, name: str, value: str) -> bool:
    """Apply a framing header; False when ``name`` is not one."""
    if name == "ResponseHeader":
        if value not in ("fixed16", "off"):
            req.fail(f"ResponseHeader: invalid value {value!r}, expected fixed16 or off")
        req.fixed16 = value == "fixed16"
    elif name == "KeepAlive":
        if value not in ("on", "off"):
            req.fail(f"KeepAlive: invalid value {value!r}, expected on or off")
        req.keepalive = value == "on"
    elif name == "OutputFormat":
        if value not in FORMATS:
            req.fail(f"OutputFormat: invalid value {value!r}, expected one of {', '.join(FORMATS)}")
        else:
            req.output_format = value
    elif name == "ColumnHeaders":
        if value not in ("on", "off"):
            req.fail(f"ColumnHeaders: invalid value {value!r}, expected on or off")
        req.column_headers = value == "on"
    elif name == "Separators":
        _separators(req, value)
    else:
        return False
    return True


def _separators(req: Request, value: str) -> None:
    parts = value.split()
    if len(parts) != 4 or not all(p.isascii() and p.isdigit() and int(p) < 256 for p in parts):
        req.fail(f"Separators: expected four character codes 0-255, got {value!r}")
        return
    a, b, c, d = (chr(int(p)) for p in parts)
    req.separators = (a, b, c, d)


def positive_int(header: str, value: str) -> int:
    """The value of a ``Limit:``-like header (a non-negative integer)."""
    if not (value.isascii() and value.isdigit()) or len(value) > 12:
        raise LqlError(BAD_REQUEST, f"{header}: expected a non-negative integer, got {value!r}")
    return int(value)
