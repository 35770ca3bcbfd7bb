"""Hosts and services: create, read, update, delete, list with filters."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

import msgspec
import pydantic
from fastapi import APIRouter, Depends, Query, Request
from starlette.responses import Response

from lookout.auth import Principal, Role
from lookout.checks.active.registry import validate_check_config
from lookout.domain.objects import HostConfig, ServiceConfig
from lookout.domain.values import InvalidValue
from lookout.engine.core import Engine
from lookout.engine.dependencies import check_dependencies
from lookout.engine.status import Status
from lookout.errors import Conflict, NotFound, ValidationError
from lookout.web.api.deps import require
from lookout.web.api.problems import field_errors
from lookout.web.api.views import JSON, host_view, service_view
from lookout.wire.api import (
    EventHandlerIn,
    HostIn,
    HostPatch,
    ServiceIn,
    ServicePatch,
    ServiceRef,
)

DependsOn = tuple[tuple[str, str], ...]

router = APIRouter()
Viewer = Annotated[Principal, Depends(require(Role.VIEWER))]
Admin = Annotated[Principal, Depends(require(Role.ADMIN))]

STATE_NAMES = {
    "ok": 0,
    "up": 0,
    "warn": 1,
    "warning": 1,
    "down": 1,
    "crit": 2,
    "critical": 2,
    "unreachable": 2,
    "unknown": 3,
}


class CheckConfigError(ValidationError):
    pass


def _site(request: Request) -> Any:
    return request.app.state.site


def _check(config: dict[str, Any] | None) -> None:
    if config is None:
        return
    try:
        validate_check_config(config)
    except pydantic.ValidationError as exc:
        errs = field_errors(exc.errors(), ("check",))
        raise CheckConfigError(
            "invalid check: "
            + "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in errs),
            tuple(errs[0]["loc"]) if errs else ("check",),
        ) from exc


def _label_filter(values: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ValidationError(f"label filter {item!r}: expected key=value", ("label",))
        out[key] = value
    return out


def _states(values: list[str]) -> set[int]:
    out = set()
    for v in values:
        v = v.strip().lower()
        if v in ("0", "1", "2", "3"):  # not isdigit(): '¹' is a digit that int() refuses
            out.add(int(v))
        elif v in STATE_NAMES:
            out.add(STATE_NAMES[v])
        else:
            raise ValidationError(
                f"state {v!r}: expected 0-3 or a state name ({', '.join(STATE_NAMES)})", ("state",)
            )
    return out


_NULLABLE = ("check", "event_handler")
"""Fields where null in a PATCH means "none" rather than "unchanged"."""


def _handler(body: EventHandlerIn | None) -> dict[str, Any] | None:
    return None if body is None else body.model_dump()


# ---------------------------------------------------------------------- hosts
def host_config(body: HostIn) -> HostConfig:
    return HostConfig(
        name=body.name,
        address=body.address,
        labels=body.labels,
        parents=tuple(body.parents),
        groups=tuple(body.groups),
        check=body.check,
        check_interval=body.check_interval,
        retry_interval=body.retry_interval,
        max_check_attempts=body.max_check_attempts,
        event_handler=_handler(body.event_handler),
    )


@router.post("/hosts", status_code=201)
async def create_host(body: HostIn, request: Request, _: Admin) -> Response:
    site = _site(request)
    engine: Engine = site.engine
    if body.name in engine.hosts:
        raise Conflict(f"host {body.name!r} exists already")
    _check(body.check)
    for parent in body.parents:
        if parent not in engine.hosts or parent == body.name:
            raise ValidationError(f"parent {parent!r} is not a known host", ("parents",))
    cfg = host_config(body)
    await site.save_host(cfg, create=True)
    return JSON(
        host_view(engine, cfg),
        status_code=201,
        headers={"Location": f"/api/v1/hosts/{quote(cfg.name, safe='')}"},
    )


@router.get("/hosts")
async def list_hosts(
    request: Request,
    _: Viewer,
    name: str | None = Query(None, description="Substring of the host name"),
    label: list[str] = Query([], description="key=value, repeatable (all must match)"),
    state: list[str] = Query([], description="up/down/unreachable or 0-2, repeatable"),
    group: str | None = None,
    limit: int = Query(1000, ge=1, le=100_000),
    offset: int = Query(0, ge=0),
) -> Response:
    engine: Engine = _site(request).engine
    labels, states = _label_filter(label), _states(state)
    out = []
    for cfg in engine.hosts.values():
        if name and name not in cfg.name:
            continue
        if group and group not in cfg.groups:
            continue
        if any(cfg.labels.get(k) != v for k, v in labels.items()):
            continue
        if states and engine.status[(cfg.name, "")].state not in states:
            continue
        out.append(cfg)
    page = out[offset : offset + limit]
    return JSON({"total": len(out), "items": [host_view(engine, c) for c in page]})


def _host(engine: Engine, name: str) -> HostConfig:
    cfg = engine.hosts.get(name)
    if cfg is None:
        raise NotFound(f"host {name!r} not found")
    return cfg


@router.get("/hosts/{host}")
async def get_host(host: str, request: Request, _: Viewer) -> Response:
    site = _site(request)
    engine: Engine = site.engine
    cfg = _host(engine, host)
    default = site.host_check(cfg) if cfg.check is None else None
    checked = msgspec.structs.replace(cfg, check=default) if default is not None else cfg
    extra = {"default_check": default} | rule_view(site, checked, None)
    return JSON(host_view(engine, cfg) | extra)


@router.patch("/hosts/{host}")
async def update_host(host: str, body: HostPatch, request: Request, _: Admin) -> Response:
    site = _site(request)
    engine: Engine = site.engine
    cfg = _host(engine, host)
    changes = body.model_dump(exclude_unset=True)
    if "check" in changes:
        _check(changes["check"])
    for parent in changes.get("parents") or []:
        if parent not in engine.hosts or parent == host:
            raise ValidationError(f"parent {parent!r} is not a known host", ("parents",))
    _no_cycle(engine, host, changes.get("parents") or [])
    for key in ("parents", "groups"):
        if changes.get(key) is not None:
            changes[key] = tuple(changes[key])
    if "event_handler" in changes:
        changes["event_handler"] = _handler(body.event_handler)
    changes = {k: v for k, v in changes.items() if v is not None or k in _NULLABLE}
    new = HostConfig(**{**_fields(cfg), **changes})
    await site.save_host(new, create=False)
    return JSON(host_view(engine, new))


def _no_cycle(engine: Engine, host: str, parents: list[str]) -> None:
    """Refuse parents that descend from ``host``: a loop would make every host on it
    undeletable (each is the parent of another) and reachability meaningless."""
    seen: set[str] = set()
    todo = list(parents)
    while todo:
        name = todo.pop()
        if name == host:
            raise ValidationError(
                f"parents {', '.join(parents)}: {host!r} would become its own ancestor",
                ("parents",),
            )
        if name not in seen:
            seen.add(name)
            todo.extend(engine.hosts[name].parents if name in engine.hosts else ())


@router.delete("/hosts/{host}", status_code=204)
async def delete_host(host: str, request: Request, _: Admin) -> Response:
    site = _site(request)
    engine: Engine = site.engine
    _host(engine, host)
    children = [h.name for h in engine.hosts.values() if host in h.parents]
    if children:
        raise Conflict(f"host {host!r} is the parent of {', '.join(children[:10])}")
    await site.delete_host(host)
    return Response(status_code=204)


# ---------------------------------------------------------------------- services
def _dependencies(engine: Engine, key: tuple[str, str], refs: list[ServiceRef]) -> DependsOn:
    deps = tuple((r.host, r.service) for r in refs)
    try:
        check_dependencies(engine.services, key, deps)
    except InvalidValue as exc:
        raise ValidationError(exc.msg, exc.loc) from None
    return deps


def _service_cfg(
    site: Any, host: str, body: ServiceIn, *, dependencies: bool = True
) -> ServiceConfig:
    """``dependencies=False``: taken as given (the caller checks them against the final set)."""
    d = site.settings.services
    return ServiceConfig(
        host=host,
        name=body.name,
        check=body.check,
        check_interval=body.check_interval or d.check_interval,
        retry_interval=body.retry_interval or d.retry_interval,
        max_check_attempts=body.max_check_attempts or d.max_check_attempts,
        stale_after=d.stale_after if body.stale_after is None else body.stale_after,
        params=body.params,
        labels=body.labels,
        event_handler=_handler(body.event_handler),
        depends_on=(
            _dependencies(site.engine, (host, body.name), body.depends_on)
            if dependencies
            else tuple((r.host, r.service) for r in body.depends_on)
        ),
    )


@router.post("/hosts/{host}/services", status_code=201)
async def create_service(host: str, body: ServiceIn, request: Request, _: Admin) -> Response:
    site = _site(request)
    engine: Engine = site.engine
    _host(engine, host)
    if (host, body.name) in engine.services:
        raise Conflict(f"service {host}/{body.name} exists already")
    _check(body.check)
    cfg = _service_cfg(site, host, body)
    await site.save_service(cfg, create=True)
    return JSON(
        service_view(engine, cfg),
        status_code=201,
        headers={"Location": _service_location(host, cfg.name)},
    )


def _service_location(host: str, name: str) -> str:
    """URL path of a service, percent-encoded ('/' in the name stays: the route takes it)."""
    return f"/api/v1/hosts/{quote(host, safe='')}/services/{quote(name, safe='/')}"


@router.get("/hosts/{host}/services")
async def list_host_services(host: str, request: Request, _: Viewer) -> Response:
    engine: Engine = _site(request).engine
    _host(engine, host)
    items = [service_view(engine, c) for c in engine.host_services.get(host, {}).values()]
    return JSON({"total": len(items), "items": items})


def rule_view(site: Any, host: HostConfig, svc: ServiceConfig | None) -> dict[str, Any]:
    """``check_rule``: the check rule that supplies the check's parameters (None: none), and
    ``check_rule_error`` when its parameters did not fit (the check runs as given). A host's
    ``default_check`` is the check it runs by default (``alive``), None when it has its own
    or none."""
    found = site.check_rules.effective(host, svc)
    if found is None:
        return {"check_rule": None}
    return {"check_rule": found.rule, "check_rule_error": found.error}


def _service(engine: Engine, host: str, name: str) -> ServiceConfig:
    cfg = engine.services.get((host, name))
    if cfg is None:
        _host(engine, host)
        raise NotFound(f"service {host}/{name} not found")
    return cfg


@router.get("/hosts/{host}/services/{service:path}")
async def get_service(host: str, service: str, request: Request, _: Viewer) -> Response:
    site = _site(request)
    engine: Engine = site.engine
    cfg = _service(engine, host, service)
    view = service_view(engine, cfg) | rule_view(site, engine.hosts[host], cfg)
    return JSON(view)


@router.patch("/hosts/{host}/services/{service:path}")
async def update_service(
    host: str, service: str, body: ServicePatch, request: Request, _: Admin
) -> Response:
    site = _site(request)
    engine: Engine = site.engine
    cfg = _service(engine, host, service)
    changes = body.model_dump(exclude_unset=True)
    if "check" in changes:
        _check(changes["check"])
    if "event_handler" in changes:
        changes["event_handler"] = _handler(body.event_handler)
    if body.depends_on is not None:
        changes["depends_on"] = _dependencies(engine, (host, service), body.depends_on)
    changes = {k: v for k, v in changes.items() if v is not None or k in _NULLABLE}
    new = ServiceConfig(**{**_fields(cfg), **changes})
    await site.save_service(new, create=False)
    return JSON(service_view(engine, new))


@router.delete("/hosts/{host}/services/{service:path}", status_code=204)
async def delete_service(host: str, service: str, request: Request, _: Admin) -> Response:
    site = _site(request)
    engine: Engine = site.engine
    _service(engine, host, service)
    await site.delete_service(host, service)
    return Response(status_code=204)


@router.get("/services")
async def list_services(
    request: Request,
    _: Viewer,
    host: str | None = Query(None, description="Exact host name"),
    name: str | None = Query(None, description="Substring of the service name"),
    state: list[str] = Query([], description="ok/warn/crit/unknown or 0-3, repeatable"),
    state_type: str | None = Query(None, pattern="^(soft|hard)$"),
    problems: bool = Query(False, description="Only services not OK"),
    handled: bool | None = Query(None, description="true: acked/downtime/host down; false: not"),
    label: list[str] = Query([], description="Host or service label key=value, repeatable"),
    limit: int = Query(1000, ge=1, le=100_000),
    offset: int = Query(0, ge=0),
) -> Response:
    engine: Engine = _site(request).engine
    labels, states = _label_filter(label), _states(state)
    hard = None if state_type is None else state_type == "hard"
    if host is not None:
        _host(engine, host)
    configs = (
        engine.host_services.get(host, {}).values()
        if host is not None
        else engine.services.values()
    )
    out: list[ServiceConfig] = []
    for cfg in configs:
        st: Status = engine.status[(cfg.host, cfg.name)]
        if problems and st.state == 0:
            continue
        if states and st.state not in states:
            continue
        if hard is not None and st.hard != hard:
            continue
        if name and name not in cfg.name:
            continue
        if handled is not None and engine.handled(st) != handled:
            continue
        if labels:
            host_labels = engine.hosts[cfg.host].labels
            if any(cfg.labels.get(k, host_labels.get(k)) != v for k, v in labels.items()):
                continue
        out.append(cfg)
    if problems:
        out.sort(key=lambda c: _severity(engine, engine.status[(c.host, c.name)]))
    page = out[offset : offset + limit]
    return JSON({"total": len(out), "items": [service_view(engine, c) for c in page]})


def _severity(engine: Engine, st: Status) -> tuple[bool, int, float]:
    """Unhandled first, then worst (CRIT, UNKNOWN, WARN), then oldest."""
    rank = {2: 0, 3: 1, 1: 2, 0: 3}[st.state]
    return (engine.handled(st), rank, st.last_state_change)


def _fields(cfg: Any) -> dict[str, Any]:
    return {f: getattr(cfg, f) for f in cfg.__struct_fields__}
