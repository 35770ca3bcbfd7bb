"""The OpenAPI document of ``/api/v1``: FastAPI's, plus what FastAPI cannot see.

FastAPI documents the routes' parameters and bodies. This module adds, in one place:

- ``POST /api/v1/results``, the lean route outside FastAPI (``ingest.py``): its body (the
  msgspec ``ResultIn``) and its 200/207/413/422 answers;
- the error answers every operation can give, all RFC 9457 ``application/problem+json``
  (``problems.py``): 400, 401, 403, 404, 409, 413, 422, 429 and 503, with ``Retry-After``
  where the site sends one. FastAPI's ``HTTPValidationError`` 422 is replaced by the problem the API
  really sends (``problems.install``);
- the bearer security scheme, on the operations that ask for a token.

Which codes an operation documents follows from its route: a token dependency (``require``)
gives 401 and, above viewer, 403; inputs give 404 and 422; a body 400 and 413; a write 409.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import msgspec
from fastapi import APIRouter, FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute

from lookout.auth import Role
from lookout.web.api.ingest_items import ResultIn
from lookout.web.api.problems import PROBLEM

REF = "#/components/schemas/{name}"
Roles = dict[tuple[str, str], Role]
"""(method, path) → the role its bearer token must allow."""
WRITES = frozenset({"post", "put", "patch", "delete"})

FIELD_ERROR: dict[str, Any] = {
    "title": "FieldError",
    "type": "object",
    "description": "One invalid field: where (``loc``, a path into the request) and why.",
    "required": ["loc", "msg"],
    "properties": {
        "loc": {
            "type": "array",
            "items": {"anyOf": [{"type": "string"}, {"type": "integer"}]},
            "description": 'Path of the field, e.g. ["results", 3, "state"] or ["query", '
            '"limit"]; [] for the body as a whole',
        },
        "msg": {"type": "string"},
        "type": {
            "anyOf": [{"type": "string"}, {"type": "null"}],
            "description": "pydantic's error type, where the check was pydantic's",
        },
        "index": {
            "type": "integer",
            "description": "POST /api/v1/results: the index of the rejected result",
        },
    },
}

PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "type": "object",
    "description": "An error, as RFC 9457 problem details (application/problem+json).",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string", "description": 'Always "about:blank" (the status says it)'},
        "title": {"type": "string", "description": "The HTTP reason phrase of ``status``"},
        "status": {"type": "integer", "minimum": 400, "maximum": 599},
        "detail": {"type": "string", "description": "What went wrong, for people"},
        "errors": {
            "type": "array",
            "items": {"$ref": REF.format(name="FieldError")},
            "description": "422: the invalid fields",
        },
        "accepted": {"type": "integer", "description": "POST /api/v1/results: 0"},
        "rejected": {"type": "integer", "description": "POST /api/v1/results: results refused"},
    },
}

RESULTS_ANSWER: dict[str, Any] = {
    "title": "ResultsAnswer",
    "type": "object",
    "required": ["accepted", "rejected"],
    "properties": {
        "accepted": {"type": "integer", "minimum": 0},
        "rejected": {"type": "integer", "minimum": 0},
        "errors": {
            "type": "array",
            "items": {"$ref": REF.format(name="FieldError")},
            "description": "207: why each rejected result was refused, by ``index``",
        },
    },
}

RESULT_BATCH: dict[str, Any] = {
    "title": "ResultBatch",
    "type": "object",
    "required": ["results"],
    "properties": {"results": {"type": "array", "items": {"$ref": REF.format(name="ResultIn")}}},
}

RETRY_AFTER: dict[str, Any] = {
    "description": "Seconds to wait before trying again",
    "schema": {"type": "integer", "minimum": 0},
}


def _problem_response(description: str, headers: dict[str, Any] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "description": description,
        "content": {PROBLEM: {"schema": {"$ref": REF.format(name="Problem")}}},
    }
    if headers:
        out["headers"] = headers
    return out


PROBLEM_RESPONSES: dict[str, tuple[str, dict[str, Any]]] = {
    "400": (
        "BadRequest",
        _problem_response("The body is not JSON, or a setting it names cannot be used"),
    ),
    "401": (
        "Unauthorized",
        _problem_response(
            "Missing, unknown, revoked or expired bearer token",
            {"WWW-Authenticate": {"schema": {"type": "string"}}},
        ),
    ),
    "403": ("Forbidden", _problem_response("The token's role may not do this")),
    "404": ("NotFound", _problem_response("A host, service or other object named is unknown")),
    "409": ("Conflict", _problem_response("Conflicts with the current state (exists, in use)")),
    "413": ("TooLarge", _problem_response("Body over max_request_bytes (or too many results)")),
    "422": (
        "Invalid",
        _problem_response("Invalid parameters or body; ``errors`` lists the fields"),
    ),
    "429": (
        "TooManyRequests",
        _problem_response("Too many requests", {"Retry-After": {**RETRY_AFTER, "required": True}}),
    ),
    "503": (
        "Unavailable",
        _problem_response(
            "The site is not taking input now (starting, or its database refuses writes)",
            {"Retry-After": RETRY_AFTER},
        ),
    ),
}


def _ref(code: str) -> dict[str, str]:
    return {"$ref": f"#/components/responses/{PROBLEM_RESPONSES[code][0]}"}


RESULTS_OPENAPI: dict[str, Any] = {
    "post": {
        "summary": "Submit check results (one, or a batch of thousands)",
        "description": (
            'Body: {"results": [result, ...]} or one result object. A result: host, '
            "service (omit for a host result), state (0-3 or OK/WARN/CRIT/UNKNOWN; hosts 0 UP, "
            "1 DOWN, 2 UNREACHABLE), summary, long_output, output (full plugin output, split "
            "into summary/long output/perfdata), perfdata (Nagios format), metrics "
            "([{name, value, unit, warn, crit, min, max}]), checked_at (Unix seconds or ISO "
            "8601). Answers 200 when all were accepted, 207 with errors by index when some "
            "were rejected, 422 when none was. The answer comes once accepted results are "
            "durable."
        ),
        "operationId": "submit_results",
        "tags": ["results"],
        "security": [{"bearer": []}],
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {
                        "anyOf": [
                            {"$ref": REF.format(name="ResultBatch")},
                            {"$ref": REF.format(name="ResultIn")},
                        ]
                    }
                }
            },
        },
        "responses": {
            "200": {
                "description": "All accepted (and durable)",
                "content": {
                    "application/json": {"schema": {"$ref": REF.format(name="ResultsAnswer")}}
                },
            },
            "207": {
                "description": "Some rejected: ``errors`` says which (by index) and why",
                "content": {
                    "application/json": {"schema": {"$ref": REF.format(name="ResultsAnswer")}}
                },
            },
            "401": _ref("401"),
            "403": _ref("403"),
            "413": _ref("413"),
            "422": _problem_response(
                "None accepted: ``errors`` says why, by index; ``accepted`` is 0"
            ),
            "429": _ref("429"),
            "503": _ref("503"),
        },
    }
}


def install(
    app: FastAPI,
    prefix: str,
    routers: Sequence[APIRouter],
    unprefixed: Sequence[APIRouter] = (),
) -> None:
    """Make ``app.openapi`` build (once) the document described above; ``routers`` are the
    API's, included in ``app`` under ``prefix``, ``unprefixed`` those included as they are
    (their token dependencies are read there)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(title=app.title, version=app.version, routes=app.routes)
            roles = _roles(prefix, routers) | _roles("", unprefixed)
            app.openapi_schema = document(schema, roles)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def document(schema: dict[str, Any], roles: Roles) -> dict[str, Any]:
    """``schema`` (FastAPI's) completed with the results route, problems and security;
    ``roles`` gives the role an operation's token must have (absent: no token asked)."""
    components = schema.setdefault("components", {})
    components["securitySchemes"] = {"bearer": {"type": "http", "scheme": "bearer"}}
    components["responses"] = {name: body for name, body in PROBLEM_RESPONSES.values()}
    schemas = components.setdefault("schemas", {})
    schemas.update(_result_schemas())
    schemas["FieldError"] = FIELD_ERROR
    schemas["Problem"] = PROBLEM_SCHEMA
    for path, item in schema["paths"].items():
        for method, op in item.items():
            _add_problems(method, op, roles.get((method, path)))
    schema["paths"]["/api/v1/results"] = RESULTS_OPENAPI
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    return schema


def _result_schemas() -> dict[str, Any]:
    _, found = msgspec.json.schema_components([ResultIn], ref_template=REF)
    return {**found, "ResultBatch": RESULT_BATCH, "ResultsAnswer": RESULTS_ANSWER}


def _add_problems(method: str, op: dict[str, Any], role: Role | None) -> None:
    """Add the problem answers ``op`` can give; ``role`` is what its token must allow, None
    for an operation without a bearer token (it may still check its own, e.g. Zulip's)."""
    responses: dict[str, Any] = op.setdefault("responses", {})
    inputs = bool(op.get("parameters")) or "requestBody" in op
    codes = ["401", "429", "503"]
    if role is not None:
        op["security"] = [{"bearer": []}]
        if role is not Role.VIEWER:
            codes.append("403")
    if inputs:
        codes += ["404", "422"]
    if "requestBody" in op:
        codes += ["400", "413"]
    if method in WRITES:
        codes.append("409")
    for code in sorted(codes):
        responses[code] = _ref(code)  # a FastAPI 422 (HTTPValidationError) is replaced


def _roles(prefix: str, routers: Sequence[APIRouter]) -> Roles:
    return {
        (method.lower(), prefix + route.path_format): role
        for router in routers
        for route in router.routes
        if isinstance(route, APIRoute) and (role := _role(route.dependant)) is not None
        for method in route.methods or ()
    }


def _role(dependant: Dependant) -> Role | None:
    """The role of the ``deps.require`` dependency among the route's (read from the closure
    ``require`` returns), or None."""
    for call in _calls(dependant):
        if getattr(call, "__qualname__", "").startswith("require."):
            role = inspect.getclosurevars(call).nonlocals.get("role")
            if isinstance(role, Role):
                return role
    return None


def _calls(dependant: Dependant) -> Iterator[Callable[..., Any]]:
    for sub in dependant.dependencies:
        if sub.call is not None:
            yield sub.call
        yield from _calls(sub)
