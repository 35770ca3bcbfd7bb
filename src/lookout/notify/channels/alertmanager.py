"""Alertmanager channel: Lookout problems as alerts in ``POST /api/v2/alerts``.

A problem is an alert firing since the problem began, ending ``ends_after`` from now unless it
is sent again (a rule's ``repeat_every``) or the recovery resolves it (``endsAt`` = now). The
alert's identity is its labels: ``alertname`` (the service, or ``Host``), ``instance`` (the
host), ``lookout_site`` and the channel's ``labels``; ``severity`` (critical, warning, info)
routes it. A state change (WARN → CRIT) is a new label set, so every send also resolves the
same alert at the other severities.
"""

from __future__ import annotations

from typing import Any

import httpx

from lookout.errors import PermanentFailure, TemporaryFailure
from lookout.notify.channels.base import ChannelContext
from lookout.notify.model import Notification, Outgoing, Sent
from lookout.notify.ratelimit import RateLimiter
from lookout.notify.spec import AlertmanagerSpec
from lookout.notify.zulipapi import tls_context
from lookout.wire.alertmanager import rfc3339

SEVERITIES = {"CRIT": "critical", "DOWN": "critical", "UNREACHABLE": "critical"}
SENT_KINDS = ("problem", "recovery", "test")
TEST_LASTS = 300.0
"""Seconds a test notification's alert fires."""


def severity_of(state: str) -> str:
    return SEVERITIES.get(state, "warning" if state in ("WARN", "UNKNOWN") else "info")


def alerts_of(
    note: Notification, spec: AlertmanagerSpec, site: str, now: float
) -> list[dict[str, Any]]:
    """The alerts one notification posts: firing at its severity (a problem) or resolved
    (a recovery), and resolved at the other severities."""
    base = {
        **spec.labels,
        "alertname": note.service or "Host",
        "instance": note.host,
        "lookout_site": note.site or site,
    }
    firing = note.kind != "recovery"
    current = severity_of(note.state) if firing else ""
    lasts = TEST_LASTS if note.kind == "test" else spec.ends_after
    annotations = {"summary": note.summary or f"{note.object} {note.state}", "state": note.state}
    if note.url:
        annotations["lookout_url"] = note.url
    out = []
    for severity in ("critical", "warning", "info"):
        alert: dict[str, Any] = {
            "labels": {**base, "severity": severity},
            "annotations": annotations,
            "startsAt": rfc3339(note.since or note.at),
            "endsAt": rfc3339(now + lasts if severity == current else now),
        }
        if note.url:
            alert["generatorURL"] = note.url
        out.append(alert)
    return out


class AlertmanagerChannel:
    ordered = True
    """A problem and its recovery must arrive in that order."""

    def __init__(self, name: str, spec: AlertmanagerSpec, ctx: ChannelContext) -> None:
        self.name = name
        self.spec = spec
        self.ctx = ctx
        self.parallel = spec.parallel
        self.limiter = RateLimiter(spec.rate_per_minute, ctx.clock, burst=spec.rate_per_minute)
        headers = {"User-Agent": "Lookout"}
        if spec.api_key:
            headers["Authorization"] = f"Bearer {spec.api_key}"
        auth = httpx.BasicAuth(spec.username, spec.password) if spec.username else None
        self.http = httpx.AsyncClient(
            base_url=spec.url.rstrip("/"),
            verify=tls_context(spec.ca_file),
            timeout=spec.timeout,
            headers=headers,
            auth=auth,
        )

    async def aclose(self) -> None:
        await self.http.aclose()

    async def send(self, msg: Outgoing) -> Sent:
        now = self.ctx.clock.now()
        alerts = [
            a
            for note in msg.notes
            if note.kind in SENT_KINDS
            for a in alerts_of(note, self.spec, self.ctx.site_name, now)
        ]
        if not alerts:
            return Sent()  # acks, downtimes: Alertmanager has no such thing to be told
        await self.limiter.acquire()
        try:
            resp = await self.http.post("/api/v2/alerts", json=alerts)
        except httpx.TransportError as exc:
            raise TemporaryFailure(f"alertmanager {self.spec.url}: {exc!r}") from exc
        code = resp.status_code
        if code in (408, 429) or code >= 500:
            raise TemporaryFailure(f"alertmanager answered {code}")
        if code >= 300:
            raise PermanentFailure(f"alertmanager answered {code}: {resp.text[:200]}")
        return Sent()
