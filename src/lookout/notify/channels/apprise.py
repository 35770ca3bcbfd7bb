"""The long tail (Slack, Mattermost, Teams, Telegram, PagerDuty, Opsgenie, ntfy, Matrix…)
through apprise URLs rather than hand-written clients."""

from __future__ import annotations

import apprise as apprise_lib

from lookout.errors import TemporaryFailure
from lookout.notify import render
from lookout.notify.channels.base import ChannelContext
from lookout.notify.model import Outgoing, Sent
from lookout.notify.ratelimit import RateLimiter
from lookout.notify.spec import AppriseSpec


class AppriseChannel:
    ordered = True
    parallel = 1

    def __init__(self, name: str, spec: AppriseSpec, ctx: ChannelContext) -> None:
        self.name = name
        self.spec = spec
        self.ctx = ctx
        self.limiter = RateLimiter(spec.rate_per_minute, ctx.clock)
        self.apprise = apprise_lib.Apprise()
        for url in spec.urls:
            self.apprise.add(url)

    async def aclose(self) -> None:
        return None

    async def send(self, msg: Outgoing) -> Sent:
        await self.limiter.acquire()
        ok = await self.apprise.async_notify(
            body=render.text(msg), title=f"[{self.ctx.site_name}] {render.subject(msg)}"
        )
        if not ok:  # apprise does not tell temporary from permanent; attempts are capped
            raise TemporaryFailure("apprise could not notify every URL")
        return Sent()
