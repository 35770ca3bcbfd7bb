"""``/integrations/*``: other systems' webhooks into Lookout (Alertmanager's, issue 14)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from lookout.auth import Principal, Role
from lookout.web.api.deps import require
from lookout.web.api.views import JSON
from lookout.wire.alertmanager import Webhook

router = APIRouter(prefix="/integrations", tags=["integrations"])
Operator = Annotated[Principal, Depends(require(Role.OPERATOR))]


@router.post("/alertmanager")
async def alertmanager(body: Webhook, request: Request, _: Operator) -> Response:
    """Alertmanager's webhook (payload version 4; a receiver's ``webhook_configs`` with
    ``http_config.authorization.credentials`` set to an operator token). Each alert becomes a
    passive service (created on first sight, labelled ``lookout/source=alertmanager``) on the
    host named by the first of ``[alertmanager] host_labels`` it carries; state by its
    ``severity`` label, ``resolved`` → OK."""
    received = await request.app.state.site.alertmanager.receiver.receive(body)
    return JSON(received.as_dict())
