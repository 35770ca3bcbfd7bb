"""Rendering an answer (CSV, JSON, Python, wrapped JSON) and framing it (``fixed16``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import msgspec

from lookout.livestatus.query import Request

_json = msgspec.json.Encoder()


def render(rows: list[list[Any]], header: Sequence[str] | None, req: Request) -> bytes:
    """The body for ``rows`` (``header``: the column names to put first, if asked for)."""
    fmt = req.output_format
    if fmt == "csv":
        table = [list(header), *rows] if header is not None else rows
        return _csv(table, req.separators)
    if fmt == "wrapped_json":
        wrapped: dict[str, Any] = {"data": rows, "total_count": len(rows)}
        if header is not None:
            wrapped = {"columns": list(header), **wrapped}
        return _json.encode(wrapped) + b"\n"
    # json, python and python3: the values are numbers, strings and lists only, so the JSON
    # text is also a valid Python literal.
    table = [list(header), *rows] if header is not None else rows
    return _json.encode(table) + b"\n"


def _csv(rows: list[list[Any]], seps: tuple[str, str, str, str]) -> bytes:
    dataset, fields, lists, pairs = seps
    out = []
    for row in rows:
        out.append(fields.join(_field(v, lists, pairs) for v in row))
        out.append(dataset)
    return "".join(out).encode("utf-8", "replace")


def _field(value: Any, lists: str, pairs: str) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, list | tuple):
        return lists.join(
            pairs.join(map(str, e)) if isinstance(e, list | tuple) else str(e) for e in value
        )
    return str(value)


def frame(code: int, body: bytes, fixed16: bool) -> bytes:
    """``body`` behind the 16-byte status line when the client asked for it."""
    if not fixed16:
        return body
    return f"{code:03d} {len(body):11d}\n".encode("ascii") + body


def error_body(message: str) -> bytes:
    return message.replace("\n", " ").encode("utf-8", "replace") + b"\n"
