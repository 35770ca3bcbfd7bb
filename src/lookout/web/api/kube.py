"""Kubernetes clusters: add, list, show, change, remove. Tokens go in, never come out."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from lookout.auth import Principal, Role
from lookout.sites.kube_settings import Refused
from lookout.web.api.deps import require
from lookout.web.api.problems import problem
from lookout.web.api.views import JSON
from lookout.wire.clusters import ClusterIn, ClusterPatch

router = APIRouter(prefix="/kube", tags=["kubernetes"])
Admin = Annotated[Principal, Depends(require(Role.ADMIN))]
Viewer = Annotated[Principal, Depends(require(Role.VIEWER))]


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


def _refused(exc: Refused) -> Response:
    errors = [{"loc": [field] if field else [], "msg": msg} for field, msg in exc.problems]
    return problem(422, str(exc), errors_=errors)


@router.post("/clusters", status_code=201)
async def add_cluster(body: ClusterIn, request: Request, _: Admin) -> Response:
    kube = request.app.state.site.kube
    try:
        row = await kube.create(body)
    except Refused as exc:
        return _refused(exc)
    return JSON(_view(row, kube.status(body.name)), status_code=201)


@router.patch("/clusters/{name}")
async def update_cluster(name: str, body: ClusterPatch, request: Request, _: Admin) -> Response:
    """Change a cluster's settings in place; its monitor restarts with them."""
    kube = request.app.state.site.kube
    try:
        row = await kube.update(name, body)
    except Refused as exc:
        return _refused(exc)
    return JSON(_view(row, kube.status(name)))


@router.get("/clusters")
async def list_clusters(request: Request, _: Viewer) -> Response:
    kube = request.app.state.site.kube
    items = [_view(r, kube.status(r["name"])) for r in await kube.rows()]
    return JSON({"total": len(items), "items": items})


@router.get("/clusters/{name}")
async def show_cluster(name: str, request: Request, _: Viewer) -> Response:
    kube = request.app.state.site.kube
    return JSON(_view(await kube.row(name), kube.status(name)))


@router.delete("/clusters/{name}")
async def remove_cluster(name: str, request: Request, _: Admin) -> Response:
    removed = await request.app.state.site.kube.remove(name)
    return JSON({"name": name, "removed_hosts": removed})
