"""The apprise channel against a real HTTP receiver (apprise's ``json://`` service)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from livesite import free_port
from lookout.errors import TemporaryFailure
from lookout.notify.channels.apprise import AppriseChannel
from lookout.notify.channels.base import ChannelContext
from lookout.notify.clock import FakeClock
from lookout.notify.model import Notification, Outgoing
from lookout.notify.spec import AppriseSpec
from lookout.notify.store import NotifyStore

pytestmark = pytest.mark.integration


class Receiver:
    def __init__(self) -> None:
        self.bodies: list[dict[str, object]] = []
        self.status = 200
        self.port = free_port()

    async def hook(self, request: Request) -> Response:
        self.bodies.append(json.loads(await request.body()))
        return Response("", self.status)


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    rec = Receiver()
    app = Starlette(routes=[Route("/notify", rec.hook, methods=["POST"])])
    server = uvicorn.Server(uvicorn.Config(app, port=rec.port, log_level="warning"))
    task = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110
        await asyncio.sleep(0.01)
    try:
        yield rec
    finally:
        server.should_exit = True
        await task


async def test_apprise_json_url(receiver: Receiver, store: NotifyStore) -> None:
    spec = AppriseSpec(urls=[f"json://127.0.0.1:{receiver.port}/notify"])
    ch = AppriseChannel("tail", spec, ChannelContext(store, FakeClock(), site_name="prod"))
    note = Notification(kind="problem", host="k8s", service="Pod api-1", state="CRIT", at=1e9)
    await ch.send(Outgoing("*", [note], ["k"]))
    body = receiver.bodies[0]
    assert body["title"] == "[prod] PROBLEM CRIT: k8s/Pod api-1"
    receiver.status = 500
    with pytest.raises(TemporaryFailure):
        await ch.send(Outgoing("*", [note], ["k2"]))


def test_apprise_urls_are_validated() -> None:
    with pytest.raises(ValueError, match="not an apprise URL"):
        AppriseSpec(urls=["slack-without-scheme"])
