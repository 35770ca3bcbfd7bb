"""Kubernetes clusters: add, list, show, remove. Tokens go in, never come out."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

import msgspec
from fastapi import APIRouter, Depends, Request
from pydantic import Field, model_validator
from starlette.responses import Response

from lookout.auth import Principal, Role
from lookout.checks.kube.params import validate as validate_params
from lookout.errors import ConfigError, NotFound, ValidationError
from lookout.sources.kube.credentials import Credentials, read_token_file, url_problem
from lookout.sources.kube.credentials import problems as credential_problems
from lookout.web.api.deps import require
from lookout.web.api.problems import problem
from lookout.web.api.views import JSON
from lookout.wire.api import Body

router = APIRouter(prefix="/kube", tags=["kubernetes"])
Admin = Annotated[Principal, Depends(require(Role.ADMIN))]
Viewer = Annotated[Principal, Depends(require(Role.VIEWER))]


class ClusterIn(Body):
    name: str = Field(pattern=r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
    server: str = Field(pattern=r"^https?://[^\s/]+(/[^\s]*)?$", max_length=1024)
    token: str | None = Field(None, min_length=1, max_length=16384)
    """A bearer token (stored encrypted; never returned)."""
    token_file: str | None = Field(None, min_length=1, max_length=1024)
    """Or a file on the site's machine holding the token (read at each connect)."""
    ca_data: str = ""
    """PEM of the cluster CA ('' = system trust store)."""
    client_cert: str = ""
    client_key: str = ""
    insecure_skip_tls_verify: bool = False
    interval: float | None = Field(None, ge=1, le=86400)
    """Seconds between full reads of the cluster (1 s to a day; default: the site's setting)."""
    usage: Literal["kubelet", "prometheus", "none"] = "kubelet"
    prometheus_url: str = Field("", pattern=r"^(https?://\S+)?$")
    params: dict[str, Any] = Field(default_factory=dict)
    rules: list[dict[str, Any]] = Field(default_factory=list)
    pod_hosts: dict[str, str] | None = None
    """Label selector: matching pods get their own host ({} = every pod)."""

    @model_validator(mode="after")
    def _one_credential(self) -> ClusterIn:
        given = [
            bool(self.token),
            bool(self.token_file),
            bool(self.client_cert and self.client_key),
        ]
        if sum(given) != 1:
            raise ValueError(
                "give exactly one of token, token_file, or client_cert with client_key"
            )
        if self.ca_data and "BEGIN CERTIFICATE" not in self.ca_data:
            raise ValueError("ca_data must be PEM (-----BEGIN CERTIFICATE-----)")
        if self.usage == "prometheus" and not self.prometheus_url:
            raise ValueError("usage 'prometheus' needs prometheus_url")
        return self


def _view(row: dict[str, Any], status: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": row["name"],
        "server": row["server"],
        "auth": "token (encrypted)"
        if row.get("token_encrypted")
        else f"token file {row['token_file']}"
        if row.get("token_file")
        else "client certificate",
        "ca": "cluster CA" if row.get("ca_data") else "system trust store",
        "insecure_skip_tls_verify": bool(row.get("insecure")),
        "options": row.get("options") or {},
        "created_at": row["created_at"],
        "status": status,
    }


def _unusable(body: ClusterIn) -> list[tuple[str, str]]:
    """What would fail at the first connect, by field (checked before anything is stored)."""
    creds = Credentials(
        server=body.server,
        token=body.token or "",
        ca_data=body.ca_data,
        client_cert=body.client_cert,
        client_key=body.client_key,
    )
    out = credential_problems(creds)
    if body.token_file:
        try:
            read_token_file(Path(body.token_file))
        except ConfigError as exc:
            out.append(("token_file", str(exc)))
    why = url_problem(body.prometheus_url) if body.prometheus_url else None
    if why:
        out.append(("prometheus_url", why))
    return out


@router.post("/clusters", status_code=201)
async def add_cluster(body: ClusterIn, request: Request, _: Admin) -> Response:
    site = request.app.state.site
    try:
        validate_params(body.params, body.rules)
    except msgspec.ValidationError as exc:
        raise ValidationError(f"params/rules: {exc}", ("params",)) from exc
    unusable = _unusable(body)
    if unusable:
        where = "; ".join(f"{field}: {msg}" for field, msg in unusable)
        errors = [{"loc": [field], "msg": msg} for field, msg in unusable]
        return problem(422, f"invalid request: {where}", errors_=errors)
    now = site.clock()
    kube = site.kube
    options: dict[str, Any] = {
        "usage": body.usage,
        "prometheus_url": body.prometheus_url,
        "params": body.params,
        "rules": body.rules,
        "pod_hosts": body.pod_hosts,
    }
    if body.interval is not None:
        options["interval"] = body.interval
    row = {
        "name": body.name,
        "server": body.server.rstrip("/"),
        "ca_data": body.ca_data,
        "token_encrypted": kube.seal(body.token) if body.token else None,
        "token_file": body.token_file,
        "client_cert": body.client_cert,
        "client_key_encrypted": kube.seal(body.client_key) if body.client_key else None,
        "insecure": body.insecure_skip_tls_verify,
        "options": options,
        "created_at": now,
        "updated_at": now,
    }
    await kube.add(row)
    return JSON(_view(row, kube.status(body.name)), status_code=201)


@router.get("/clusters")
async def list_clusters(request: Request, _: Viewer) -> Response:
    kube = request.app.state.site.kube
    items = [_view(r, kube.status(r["name"])) for r in await kube.rows()]
    return JSON({"total": len(items), "items": items})


@router.get("/clusters/{name}")
async def show_cluster(name: str, request: Request, _: Viewer) -> Response:
    kube = request.app.state.site.kube
    for r in await kube.rows():
        if r["name"] == name:
            return JSON(_view(r, kube.status(name)))
    raise NotFound(f"no cluster named {name!r}")


@router.delete("/clusters/{name}")
async def remove_cluster(name: str, request: Request, _: Admin) -> Response:
    removed = await request.app.state.site.kube.remove(name)
    return JSON({"name": name, "removed_hosts": removed})
