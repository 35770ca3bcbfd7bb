"""Errors as RFC 9457 problem details (``application/problem+json``) with field paths."""

from __future__ import annotations

from collections.abc import Mapping
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

import msgspec
from starlette.exceptions import HTTPException
from starlette.responses import Response

from lookout import errors

if TYPE_CHECKING:  # FastAPI is imported by the API's routes, not by the lean doors
    from fastapi import FastAPI
    from starlette.requests import Request

PROBLEM = "application/problem+json"

_STATUS: tuple[tuple[type[errors.LookoutError], int], ...] = (
    (errors.ValidationError, 422),
    (errors.NotFound, 404),
    (errors.Conflict, 409),
    (errors.PermissionDenied, 403),
    (errors.TemporaryFailure, 503),
    (errors.StorageError, 503),
    (errors.ConfigError, 400),
)


def problem(
    status: int,
    detail: str,
    *,
    errors_: list[dict[str, Any]] | None = None,
    headers: Mapping[str, str] | None = None,
    **extra: Any,
) -> Response:
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
    }
    if errors_:
        body["errors"] = errors_
    body.update(extra)
    return Response(msgspec.json.encode(body), status, headers=headers, media_type=PROBLEM)


def field_errors(exc_errors: Any, prefix: tuple[str | int, ...] = ()) -> list[dict[str, Any]]:
    """pydantic errors → ``[{"loc": [...], "msg": ...}]``."""
    out = []
    for err in exc_errors:
        loc = [p for p in err.get("loc", ()) if p not in ("body",)]
        out.append({"loc": [*prefix, *loc], "msg": err.get("msg", ""), "type": err.get("type")})
    return out


def status_of(exc: errors.LookoutError) -> int:
    for cls, code in _STATUS:
        if isinstance(exc, cls):
            return code
    return 500


def lookout_error(exc: errors.LookoutError) -> Response:
    status = status_of(exc)
    headers = {}
    if isinstance(exc, errors.TemporaryFailure) and exc.retry_after:
        headers["Retry-After"] = str(int(exc.retry_after))
    errs = None
    if isinstance(exc, errors.ValidationError) and exc.loc:
        errs = [{"loc": list(exc.loc), "msg": str(exc)}]
    return problem(status, str(exc), errors_=errs, headers=headers)


def install(app: FastAPI) -> None:
    from fastapi.exceptions import RequestValidationError

    async def on_validation(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        errs = field_errors(exc.errors())
        where = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'body'}: {e['msg']}" for e in errs[:5])
        return problem(422, f"invalid request: {where}", errors_=errs)

    async def on_lookout(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, errors.LookoutError)
        return lookout_error(exc)

    async def on_http(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        return problem(exc.status_code, str(exc.detail), headers=exc.headers)

    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(errors.LookoutError, on_lookout)
    app.add_exception_handler(HTTPException, on_http)
