"""Push agents: registration tokens, deregistration, the receiver's status (issue #3)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request

from lookout.auth import Principal, Role
from lookout.errors import Conflict, NotFound
from lookout.web.api.deps import require

router = APIRouter(tags=["agents"])
Viewer = Annotated[Principal, Depends(require(Role.VIEWER))]
Admin = Annotated[Principal, Depends(require(Role.ADMIN))]


def _receiver(request: Request) -> Any:
    agents = request.app.state.site.agents
    if agents is None:
        raise Conflict("the agent receiver is disabled (agent_receiver.enabled = false)")
    return agents


def _host(request: Request, host: str) -> None:
    if host not in request.app.state.site.engine.hosts:
        raise NotFound(f"host {host!r} not found")


@router.post("/hosts/{host}/agent-token", status_code=201)
async def create_agent_token(host: str, request: Request, who: Admin) -> dict[str, Any]:
    """A one-time registration token for the host's agent, and the command to run there."""
    _host(request, host)
    reg: dict[str, Any] = await _receiver(request).registration(host, who.user)
    after = {"expires_at": reg.get("expires_at")}
    await request.app.state.site.audit.record("agent", host, "registration-token", after=after)
    return reg


@router.post("/hosts/{host}/agent-deregister")
async def deregister_agent(host: str, request: Request, who: Admin) -> dict[str, Any]:
    """Revoke the host's agent certificates at once (its pushes are refused from now on)."""
    _host(request, host)
    revoked = await _receiver(request).deregister_host(host, who.user)
    await request.app.state.site.audit.record(
        "agent", host, "deregister", after={"revoked": revoked}
    )
    return {"host": host, "revoked": revoked}


@router.get("/agents")
async def list_agents(request: Request, _: Viewer) -> dict[str, Any]:
    """The receiver's status and the agents it knows."""
    rec = _receiver(request)
    return {"receiver": rec.status(), "items": rec.agent_list()}
