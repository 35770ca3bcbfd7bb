"""Webhook channel: POST a JSON document, signed with HMAC-SHA256 (see docs/webhooks.md)."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any

import httpx
import msgspec

from lookout.errors import PermanentFailure, TemporaryFailure
from lookout.notify.channels.base import ChannelContext
from lookout.notify.model import Outgoing, Sent
from lookout.notify.ratelimit import RateLimiter
from lookout.notify.spec import WebhookSpec
from lookout.notify.zulipapi import tls_context

SCHEMA_VERSION = 1


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """``sha256=<hex>`` of HMAC-SHA256(secret, timestamp + "." + body)."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def document(msg: Outgoing, site: str) -> dict[str, Any]:
    return {
        "version": SCHEMA_VERSION,
        "site": site,
        "idempotency_key": msg.keys[0],
        "keys": msg.keys,
        "notifications": [msgspec.to_builtins(n) for n in msg.notes],
    }


class WebhookChannel:
    ordered = False

    def __init__(self, name: str, spec: WebhookSpec, ctx: ChannelContext) -> None:
        self.name = name
        self.spec = spec
        self.ctx = ctx
        self.parallel = spec.parallel
        self.limiter = RateLimiter(spec.rate_per_minute, ctx.clock, burst=spec.rate_per_minute)
        self.http = httpx.AsyncClient(
            verify=tls_context(spec.ca_file),
            timeout=spec.timeout,
            limits=httpx.Limits(max_connections=spec.parallel * 2),
        )

    async def aclose(self) -> None:
        await self.http.aclose()

    async def send(self, msg: Outgoing) -> Sent:
        await self.limiter.acquire()
        body = json.dumps(document(msg, self.ctx.site_name), separators=(",", ":")).encode()
        stamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "Lookout",
            "Idempotency-Key": msg.keys[0],
            "X-Lookout-Timestamp": stamp,
            **self.spec.headers,
        }
        if self.spec.secret:
            headers["X-Lookout-Signature"] = sign(self.spec.secret, stamp, body)
        try:
            resp = await self.http.post(self.spec.url, content=body, headers=headers)
        except httpx.TransportError as exc:
            # The receiver dedupes by Idempotency-Key, so even an unanswered request may
            # be sent again.
            raise TemporaryFailure(f"webhook {self.spec.url}: {exc!r}") from exc
        code = resp.status_code
        if code in (408, 425, 429) or code >= 500:
            after = resp.headers.get("Retry-After")
            retry = float(after) if after and after.isascii() and after.isdigit() else None
            raise TemporaryFailure(f"webhook answered {code}", retry_after=retry)
        if code >= 300:
            raise PermanentFailure(f"webhook answered {code}: {resp.text[:200]}")
        return Sent()
