"""``POST /objects``: many hosts and services in one request, each judged on its own.

Seeding a site one object per request costs a round trip, a transaction and an answer per
object (~800 objects/s); here a request carries up to ``max_objects_per_request`` of them,
the good ones are written in one transaction and handed to the engine at once, and every bad
one is named with its location (``services.12.check.port``), as ``POST /results`` does.
Answers: 201 all created; 207 some refused (``errors``); 422 none created (problem+json).
Create only: an object that exists already is an error (``PATCH`` changes one).
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

import msgspec
import pydantic
import sqlalchemy as sa
from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from lookout.auth import Principal, Role
from lookout.domain.objects import HostConfig, ServiceConfig
from lookout.domain.values import InvalidValue
from lookout.engine.dependencies import check_dependencies
from lookout.errors import LookoutError
from lookout.web.api.deps import require
from lookout.web.api.ingest import overloaded
from lookout.web.api.objects import _check, _service_cfg, host_config
from lookout.web.api.problems import field_errors, problem
from lookout.wire.api import BulkServiceIn, HostIn

router = APIRouter()
Admin = Annotated[Principal, Depends(require(Role.ADMIN))]
_decoder = msgspec.json.Decoder()


class _Refused(Exception):
    def __init__(self, loc: list[Any], msg: str) -> None:
        self.loc, self.msg = loc, msg


@router.post(
    "/objects",
    status_code=201,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {
                        "type": "object",
                        "properties": {
                            "hosts": {"type": "array", "items": HostIn.model_json_schema()},
                            "services": {
                                "type": "array",
                                "items": BulkServiceIn.model_json_schema(),
                            },
                        },
                        "additionalProperties": False,
                    }
                }
            },
        }
    },
)
async def create_objects(request: Request, _: Admin) -> Response:
    """Create many hosts and services; each item is checked on its own and every refusal is
    named with its location (201 all created, 207 some, 422 none)."""
    site = request.app.state.site
    if (wait := site.runner.overloaded()) is not None:
        return overloaded(wait)
    try:
        body = _decoder.decode(await request.body())
    except (msgspec.DecodeError, RecursionError) as exc:
        return problem(422, f"the body is not JSON: {exc}")
    if not isinstance(body, dict) or set(body) - {"hosts", "services"}:
        unknown = sorted(set(body) - {"hosts", "services"}) if isinstance(body, dict) else []
        detail = f"unknown field {unknown[0]!r}" if unknown else "expected an object"
        return problem(
            422, f"{detail}: give hosts and services", errors_=[{"loc": unknown[:1], "msg": detail}]
        )
    raw_hosts, raw_services = body.get("hosts") or [], body.get("services") or []
    if not isinstance(raw_hosts, list) or not isinstance(raw_services, list):
        return problem(422, "hosts and services are lists")
    limit = site.settings.max_objects_per_request
    if len(raw_hosts) + len(raw_services) > limit:
        return problem(413, f"at most {limit} objects per request (max_objects_per_request)")
    errors: list[dict[str, Any]] = []
    # the models off the event loop (seconds for 100,000 items); what the engine knows, on it
    host_models, service_models = await asyncio.to_thread(
        lambda: (_models(HostIn, raw_hosts), _models(BulkServiceIn, raw_services))
    )
    hosts = _hosts(site, host_models, errors)
    services = _services(site, service_models, {h.name for h in hosts}, errors)
    if not hosts and not services:
        where = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in errors[:3])
        return problem(
            422,
            f"nothing created: {where}" if errors else "no objects given",
            errors_=errors or [{"loc": [], "msg": "empty"}],
            created={"hosts": 0, "services": 0},
            rejected=len(errors),
        )
    try:
        await site.add_objects(hosts, services)
    except sa.exc.IntegrityError:  # another request created one of them meanwhile
        return problem(409, "nothing created: some of these objects were created meanwhile")
    except LookoutError as exc:
        return problem(503, f"nothing created: {exc}")
    out: dict[str, Any] = {
        "created": {"hosts": len(hosts), "services": len(services)},
        "rejected": len(errors),
    }
    if errors:
        out["errors"] = errors
    return Response(msgspec.json.encode(out), 207 if errors else 201, media_type="application/json")


Model = Any | _Refused
"""A validated item, or why it is refused."""


def _models(model: type[Any], items: list[Any]) -> list[Model]:
    out: list[Model] = []
    for item in items:
        try:
            out.append(_validated(model, item))
        except _Refused as exc:
            out.append(exc)
    return out


def _hosts(site: Any, items: list[Model], errors: list[dict[str, Any]]) -> list[HostConfig]:
    engine = site.engine
    known = set(engine.hosts)
    good: list[HostConfig] = []
    for i, body in enumerate(items):
        try:
            if isinstance(body, _Refused):
                raise body
            if body.name in known:
                raise _Refused(["name"], f"host {body.name!r} exists already")
            for parent in body.parents:
                if parent not in known or parent == body.name:
                    raise _Refused(["parents"], f"parent {parent!r} is not a known host")
            cfg = host_config(body)
            _site_refusals(site, cfg.check, cfg.event_handler)
        except _Refused as exc:
            errors.append({"loc": ["hosts", i, *exc.loc], "msg": exc.msg})
            continue
        known.add(cfg.name)  # a later host may name this one as its parent
        good.append(cfg)
    return good


def _services(
    site: Any, items: list[Model], new_hosts: set[str], errors: list[dict[str, Any]]
) -> list[ServiceConfig]:
    engine = site.engine
    taken = set(engine.services)
    good: list[tuple[int, ServiceConfig]] = []
    for i, body in enumerate(items):
        try:
            if isinstance(body, _Refused):
                raise body
            host = body.host
            if host not in engine.hosts and host not in new_hosts:
                raise _Refused(["host"], f"unknown host {host!r}")
            if (host, body.name) in taken:
                raise _Refused(["name"], f"service {host}/{body.name} exists already")
            cfg = _service_cfg(site, host, body, dependencies=False)
            _site_refusals(site, cfg.check, cfg.event_handler)
        except _Refused as exc:
            errors.append({"loc": ["services", i, *exc.loc], "msg": exc.msg})
            continue
        taken.add((host, body.name))
        good.append((i, cfg))
    final = {**engine.services, **{(c.host, c.name): c for _, c in good}}
    kept: list[ServiceConfig] = []
    for i, cfg in good:
        try:
            check_dependencies(final, (cfg.host, cfg.name), cfg.depends_on)
        except InvalidValue as exc:
            errors.append({"loc": ["services", i, *exc.loc], "msg": exc.msg})
            continue
        kept.append(cfg)
    return kept


def _validated(model: type[Any], item: Any) -> Any:
    try:
        return model.model_validate(item)
    except pydantic.ValidationError as exc:
        first = field_errors(exc.errors(), ())[0]
        raise _Refused(list(first["loc"]), first["msg"]) from None


def _site_refusals(site: Any, check: dict[str, Any] | None, handler: Any) -> None:
    try:
        _check(check)
        site.refuse_check(check)
        site.refuse_handler(handler)
    except LookoutError as exc:
        loc = list(getattr(exc, "loc", ()) or ["check"])
        raise _Refused(loc, str(exc)) from None
