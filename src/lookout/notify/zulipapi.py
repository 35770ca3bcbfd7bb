"""A small async client for the Zulip REST API (the parts Lookout uses), on httpx.

Why not the ``zulip`` package: it is synchronous (requests), makes a network call in its
constructor and does not handle 429; the notifier needs async calls, ``Retry-After`` and one
rate limit shared by the sender and the chat bot. TLS is always verified.

Errors::

    TemporaryFailure   cannot connect, 5xx, 429 (``retry_after`` from the server)
    ZulipError         the server answered ``{"result": "error", "code": …}`` (permanent)
    PermanentFailure   no answer after the request was sent (it may have been applied)
"""

from __future__ import annotations

import json
import ssl
from typing import Any

import httpx

from lookout.errors import PermanentFailure, TemporaryFailure
from lookout.notify.clock import Clock
from lookout.notify.ratelimit import RateLimiter


class ZulipError(PermanentFailure):
    def __init__(self, message: str, code: str, status: int) -> None:
        super().__init__(f"Zulip {status} {code}: {message}")
        self.code = code
        self.status = status


def tls_context(ca_file: str = "") -> ssl.SSLContext:
    """A verifying TLS context, trusting ``ca_file`` when given (else the system store)."""
    ctx = ssl.create_default_context(cafile=ca_file or None)
    return ctx


class ZulipClient:
    def __init__(
        self,
        site: str,
        email: str,
        api_key: str,
        *,
        limiter: RateLimiter,
        clock: Clock,
        ca_file: str = "",
        timeout: float = 15.0,
    ) -> None:
        self.site = site.rstrip("/")
        self.email = email
        self.limiter = limiter
        self.clock = clock
        self.http = httpx.AsyncClient(
            base_url=f"{self.site}/api/v1",
            auth=(email, api_key),
            verify=tls_context(ca_file),
            timeout=timeout,
            headers={"User-Agent": "Lookout"},
        )

    async def aclose(self) -> None:
        await self.http.aclose()

    async def call(
        self,
        method: str,
        path: str,
        *,
        data: dict[str, Any] | None = None,
        params: dict[str, Any] | None = None,
        timeout: float | None = None,  # noqa: ASYNC109 (an HTTP timeout, not a deadline)
        limited: bool = True,
    ) -> dict[str, Any]:
        if limited:
            await self.limiter.acquire()
        form = {k: v if isinstance(v, str) else json.dumps(v) for k, v in (data or {}).items()}
        kwargs: dict[str, Any] = {"params": params}
        if form:
            kwargs["data"] = form
        if timeout is not None:
            kwargs["timeout"] = timeout
        try:
            resp = await self.http.request(method, path, **kwargs)
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            raise TemporaryFailure(f"cannot reach Zulip at {self.site}: {exc!r}") from exc
        except httpx.TimeoutException as exc:
            if method == "GET":
                raise TemporaryFailure(f"Zulip did not answer {method} {path}") from exc
            raise PermanentFailure(
                f"Zulip did not answer {method} {path} after it was sent; not retried "
                "(it may have been applied)"
            ) from exc
        except httpx.TransportError as exc:
            raise TemporaryFailure(f"Zulip transport error: {exc!r}") from exc
        return self._answer(resp)

    def _answer(self, resp: httpx.Response) -> dict[str, Any]:
        try:
            body: dict[str, Any] = resp.json()
        except ValueError:
            body = {}
        if resp.status_code == 429:
            wait = float(resp.headers.get("Retry-After") or body.get("retry-after") or 1.0)
            self.limiter.pause(self.clock.now() + wait)
            raise TemporaryFailure("Zulip rate limit hit (429)", retry_after=wait)
        if resp.status_code >= 500:
            raise TemporaryFailure(f"Zulip answered {resp.status_code}")
        if resp.status_code >= 400 or body.get("result") != "success":
            raise ZulipError(
                str(body.get("msg") or resp.text[:200]),
                str(body.get("code") or "BAD_REQUEST"),
                resp.status_code,
            )
        return body

    # ------------------------------------------------------------------ messages
    async def send_stream(self, stream: str, topic: str, content: str) -> int:
        body = await self.call(
            "POST",
            "/messages",
            data={"type": "stream", "to": stream, "topic": topic, "content": content},
        )
        return int(body["id"])

    async def send_direct(self, to: list[int] | list[str], content: str) -> int:
        body = await self.call(
            "POST", "/messages", data={"type": "private", "to": to, "content": content}
        )
        return int(body["id"])

    async def rename_topic(self, message_id: int, topic: str) -> None:
        await self.call(
            "PATCH",
            f"/messages/{message_id}",
            data={"topic": topic, "propagate_mode": "change_all"},
        )

    async def edit_content(self, message_id: int, content: str) -> None:
        await self.call("PATCH", f"/messages/{message_id}", data={"content": content})

    async def get_message(self, message_id: int) -> dict[str, Any]:
        body = await self.call("GET", f"/messages/{message_id}")
        msg: dict[str, Any] = body["message"]
        return msg

    async def add_reaction(self, message_id: int, name: str, reaction_type: str) -> None:
        try:
            await self.call(
                "POST",
                f"/messages/{message_id}/reactions",
                data={"emoji_name": name, "reaction_type": reaction_type},
            )
        except ZulipError as exc:
            if exc.code != "REACTION_ALREADY_EXISTS":
                raise

    async def me(self) -> dict[str, Any]:
        return await self.call("GET", "/users/me")

    # ------------------------------------------------------------------ events
    async def register(self, event_types: list[str]) -> tuple[str, int, float]:
        """A new event queue: ``(queue_id, last_event_id, longpoll_timeout)``."""
        body = await self.call("POST", "/register", data={"event_types": event_types})
        timeout = float(body.get("event_queue_longpoll_timeout_seconds") or 90)
        return str(body["queue_id"]), int(body["last_event_id"]), timeout

    async def get_events(
        self, queue_id: str, last_event_id: int, longpoll: float
    ) -> list[dict[str, Any]]:
        body = await self.call(
            "GET",
            "/events",
            params={"queue_id": queue_id, "last_event_id": last_event_id},
            timeout=longpoll + 10,
            limited=False,
        )
        events: list[dict[str, Any]] = body.get("events", [])
        return events
