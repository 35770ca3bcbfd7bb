"""An in-process site with notifications configured, for notifier and chat-bot tests."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from lookout.domain.objects import HostConfig, ServiceConfig
from lookout.domain.results import CheckResult
from lookout.engine.inputs import Results
from lookout.notify.spec import Channel, Contact, Rule
from lookout.sites.site import Site, init_site
from lookout.storage import accounts


async def until(cond: Callable[[], Any], limit: float = 30.0, what: str = "") -> Any:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        value = cond()
        if value:
            return value
        await asyncio.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what or cond}")


class Harness:
    def __init__(self, tmp: Path, clock: Callable[[], float] = time.time, **settings: Any) -> None:
        # Tests watch deliveries to unreachable webhooks: the self-monitoring service of a
        # failing channel (problems of its own) only where a test asks for it.
        settings.setdefault("notifications", {"self_monitoring": False})
        init_site(tmp / "site", extra={"tick_interval": 0.2, **settings})
        self.site = Site(tmp / "site", clock=clock)

    async def start(self) -> None:
        await self.site.start()

    async def stop(self) -> None:
        await self.site.stop()

    def user(self, name: str, role: str, email: str, zulip: str = "") -> None:
        accounts.add_user(self.site.db, name, role, time.time(), email=email)
        if zulip:
            self.site.notifier.store.put_contact(Contact(user=name, zulip=zulip), time.time())

    async def configure(self, channels: list[dict[str, Any]], rules: list[dict[str, Any]]) -> None:
        store = self.site.notifier.store
        for ch in channels:
            store.put_channel(Channel.model_validate(ch), time.time(), create=True)
        for r in rules:
            store.put_rule(Rule.model_validate(r), time.time(), position=None, create=True)
        await self.site.notifier.reload()

    async def service(self, host: str, service: str, attempts: int = 1) -> None:
        if host not in self.site.engine.hosts:
            await self.site.save_host(HostConfig(name=host), create=True)
        await self.site.save_service(
            ServiceConfig(host=host, name=service, max_check_attempts=attempts, stale_after=0),
            create=True,
        )

    async def result(self, host: str, service: str, state: int, summary: str = "") -> None:
        await self.site.runner.apply(
            Results(
                at=self.site.clock(),
                results=[CheckResult(host, service, state, summary or f"state {state}")],
            )
        )


def zulip_channel(server: Any, **extra: object) -> dict[str, object]:
    bot = server.users["bot@zulip.test"]
    return {
        "name": "chat",
        "spec": {
            "type": "zulip",
            "site": server.url,
            "email": bot.email,
            "api_key": bot.api_key,
            "stream": "monitoring",
            "group_window": 0,
            **extra,
        },
    }
