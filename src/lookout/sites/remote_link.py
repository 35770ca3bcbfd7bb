"""One remote site as a central site sees it: a cache of its objects, kept current in the
background by following its change feed (``GET /api/v1/changes``), and the client that
carries actions to it (issue 12).

Pages read only the cache; a remote that is slow, down or answers garbage costs its own task,
never a page. Its answers are bounded (bytes, objects, field sizes and types, through
:mod:`lookout.wire.central`) and a refused answer changes nothing in the cache: the remote is
shown stale since its last good answer, with the error.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import msgspec

from lookout.config import CentralSettings
from lookout.storage.remotes import RemoteRow
from lookout.wire.central import ChangesPage, RemoteObject

log = logging.getLogger(__name__)

Key = tuple[str, str]
_decoder = msgspec.json.Decoder(ChangesPage)
MAX_ERROR = 500
"""Longest text of a remote's refusal kept or shown."""


class RemoteFailure(Exception):
    """The remote did not answer, or its answer was refused; the message says which."""


@dataclass(frozen=True, slots=True)
class Answer:
    """A remote's answer to a forwarded action: its status and body as it sent them."""

    status: int
    body: Any


def tls_context(ca_pem: str) -> ssl.SSLContext:
    """Verifies against the given CA (PEM), or the system's CAs when none is given."""
    return ssl.create_default_context(cadata=ca_pem) if ca_pem else ssl.create_default_context()


def short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= MAX_ERROR else text[: MAX_ERROR - 1] + "…"


def refusal_text(status: int, body: bytes) -> str:
    """What a remote said when it refused: the problem's ``detail``, else the body's start."""
    try:
        data = msgspec.json.decode(body[:65536])
    except msgspec.DecodeError:
        data = None
    if isinstance(data, dict) and isinstance(data.get("detail"), str):
        return short(f"{status} {data['detail']}")
    return short(f"{status} {body[:MAX_ERROR].decode('utf-8', 'replace')}")


class RemoteLink:
    def __init__(
        self,
        row: RemoteRow,
        settings: CentralSettings,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.name = row.name
        self.url = row.url
        self.settings = settings
        self.clock = clock
        self.objects: dict[Key, RemoteObject] = {}
        self.problems: set[Key] = set()
        """Keys of objects not OK (the problems page reads only these)."""
        self.cursor = ""
        self.remote_site = ""
        """The remote's own ``site_name``."""
        self.caller = ""
        """The remote's user of our token: actions are authored ``<user> via <caller>``."""
        self.synced_at: float | None = None
        """When the last good answer came."""
        self.error: str | None = None
        self.failing_since: float | None = None
        self.full_at = 0.0
        self.version = 0
        """Moves with every change of the cache (memoised views compare it)."""
        self._wake = asyncio.Event()
        self._client = httpx.AsyncClient(
            base_url=f"{row.url}/api/v1",
            headers={"Authorization": f"Bearer {row.token}"},
            verify=tls_context(row.ca_pem),
            timeout=settings.timeout,
            follow_redirects=False,
        )

    # ------------------------------------------------------------------ following the feed
    async def run(self) -> None:
        while True:
            try:
                await self.sync()
            except RemoteFailure as exc:
                self._failed(str(exc))
            except Exception as exc:  # a bug here must not end the following for good
                log.exception("remote site %s: following it failed", self.name)
                self._failed(f"internal error: {short(repr(exc))}")
            else:
                if self.error is not None:
                    log.warning("remote site %s answers again", self.name)
                    self.version += 1
                self.error = None
                self.failing_since = None
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.settings.refresh_interval):
                    await self._wake.wait()

    def wake(self) -> None:
        """Ask now (after an action, to show its effect at once)."""
        self._wake.set()

    def _failed(self, error: str) -> None:
        if error != self.error:
            log.warning("remote site %s: %s", self.name, error)
            self.version += 1
        self.error = error
        if self.failing_since is None:
            self.failing_since = self.clock()

    async def sync(self) -> None:
        """Changes since the cursor; a full sync first, on ``reset`` and every
        ``full_sync_interval``."""
        if not self.cursor or self.clock() - self.full_at >= self.settings.full_sync_interval:
            await self._full()
            return
        for _ in range(self._most_pages()):
            page = await self._page({"since": self.cursor})
            if page.reset or page.full:
                await self._full()
                return
            self._apply(page)
            if not page.more:
                return
        raise RemoteFailure("refused its changes: more pages than max_objects allow")

    def _most_pages(self) -> int:
        return self.settings.max_objects // self.settings.page_size + 10

    async def _full(self) -> None:
        objects: dict[Key, RemoteObject] = {}
        params: dict[str, str] = {}
        cursor = ""
        after: Key | None = None
        while True:
            page = await self._page(params)
            cursor = cursor or page.cursor
            for obj in page.items:
                objects[(obj.host, obj.service)] = obj
            self._bound(len(objects))
            if not page.more or not page.items:
                break
            last = (page.items[-1].host, page.items[-1].service)
            if after is not None and last <= after:
                raise RemoteFailure("refused its full sync: its pages do not advance")
            after = last
            params = {"after_host": last[0], "after_service": last[1]}
        self.objects = objects
        self.problems = {k for k, o in objects.items() if o.state != 0}
        self.cursor = cursor
        self.full_at = self.clock()
        self.version += 1

    def _apply(self, page: ChangesPage) -> None:
        objects, problems = self.objects, self.problems
        for host, service in page.removed:
            objects.pop((host, service), None)
            problems.discard((host, service))
        for obj in page.items:
            key = (obj.host, obj.service)
            objects[key] = obj
            if obj.state != 0:
                problems.add(key)
            else:
                problems.discard(key)
        self._bound(len(objects))
        self.cursor = page.cursor
        if page.items or page.removed:
            self.version += 1

    def _bound(self, count: int) -> None:
        if count > self.settings.max_objects:
            self.cursor = ""
            raise RemoteFailure(
                f"more than {self.settings.max_objects} objects: refused ([central] max_objects)"
            )

    async def _page(self, params: dict[str, str]) -> ChangesPage:
        body = await self._get("/changes", {**params, "limit": str(self.settings.page_size)})
        try:
            page = _decoder.decode(body)
        except (msgspec.ValidationError, msgspec.DecodeError) as exc:
            raise RemoteFailure(
                f"refused its answer to GET /api/v1/changes: {short(str(exc))}"
            ) from exc
        self.remote_site = page.site
        self.caller = page.caller
        self.synced_at = self.clock()
        return page

    async def _get(self, path: str, params: dict[str, str]) -> bytes:
        limit = self.settings.max_answer_bytes
        try:
            async with self._client.stream("GET", path, params=params) as answer:
                chunks: list[bytes] = []
                size = 0
                async for chunk in answer.aiter_bytes():
                    size += len(chunk)
                    if size > limit:
                        raise RemoteFailure(
                            f"refused its answer to GET /api/v1{path}: more than {limit} bytes "
                            "([central] max_answer_bytes)"
                        )
                    chunks.append(chunk)
                body = b"".join(chunks)
                if answer.status_code != 200:
                    raise RemoteFailure(
                        f"GET /api/v1{path} answered {refusal_text(answer.status_code, body)}"
                    )
                return body
        except httpx.HTTPError as exc:
            raise RemoteFailure(f"unreachable: {transport_error(exc)}") from exc

    # ------------------------------------------------------------------ actions
    async def act(self, path: str, body: dict[str, Any]) -> Answer:
        """POST an action to the remote; its answer (or refusal) as it came."""
        try:
            answer = await self._client.post(path, json=body)
        except httpx.HTTPError as exc:
            raise RemoteFailure(f"unreachable: {transport_error(exc)}") from exc
        content = answer.content[: 1024 * 1024]
        try:
            data: Any = msgspec.json.decode(content)
        except msgspec.DecodeError:
            data = short(content.decode("utf-8", "replace"))
        if answer.status_code < 300:
            self.wake()
        return Answer(answer.status_code, data)

    async def aclose(self) -> None:
        await self._client.aclose()


def transport_error(exc: httpx.HTTPError) -> str:
    """The reason of a failed request, down to the OS's or OpenSSL's words."""
    reason: BaseException = exc
    while reason.__cause__ is not None or reason.__context__ is not None:
        nxt = reason.__cause__ or reason.__context__
        assert nxt is not None
        reason = nxt
    text = str(reason) or type(reason).__name__
    if isinstance(exc, httpx.TimeoutException):
        text = f"no answer in time ({type(exc).__name__})"
    return short(text)
