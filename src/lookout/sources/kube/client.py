"""A small async Kubernetes API client on httpx: paged lists, watches with bookmarks,
health endpoints, kubelet stats through the node proxy, access reviews, events.

Answers are decoded straight into the typed sections (msgspec), reading only the fields
Lookout uses. Library errors become :mod:`lookout.sources.kube.errors` at this boundary.
"""

from __future__ import annotations

import json
import os
import socket
import ssl
from collections.abc import AsyncIterator, Iterator
from typing import Any, Generic, TypeVar
from urllib.parse import quote

import httpx
import msgspec

from lookout.checks.kube.sections import StatsSummary
from lookout.sources.kube.credentials import Credentials
from lookout.sources.kube.errors import (
    BadAnswer,
    Gone,
    KubeError,
    TlsFailure,
    Unreachable,
    for_status,
)
from lookout.sources.kube.resources import Permission, Resource

T = TypeVar("T")
USER_AGENT = "lookout-kube/0.1"
KUBELET_TIMEOUT = 5.0
"""Seconds a kubelet may take to answer /healthz through the node proxy."""
PAGE = 500
"""Objects per list page (``limit``)."""


class ListMeta(msgspec.Struct, kw_only=True, rename="camel"):
    resource_version: str = ""
    continue_: str = msgspec.field(default="", name="continue")


class ListAnswer(msgspec.Struct, Generic[T], kw_only=True):
    metadata: ListMeta = msgspec.field(default_factory=ListMeta)
    items: list[T] | None = None


class RawEvent(msgspec.Struct):
    type: str
    object: msgspec.Raw = msgspec.Raw(b"null")


class ApiStatusBody(msgspec.Struct, kw_only=True):
    code: int = 0
    reason: str = ""
    message: str = ""


class Bookmark(msgspec.Struct, kw_only=True):
    metadata: ListMeta = msgspec.field(default_factory=ListMeta)


class _Meta(msgspec.Struct):
    name: str = ""
    namespace: str = ""


class _Named(msgspec.Struct):
    metadata: _Meta = msgspec.field(default_factory=_Meta)


class WatchEvent(msgspec.Struct, Generic[T]):
    type: str
    """ADDED, MODIFIED, DELETED, BOOKMARK."""
    object: T | None
    resource_version: str = ""


class Timeouts(msgspec.Struct, frozen=True):
    connect: float = 10.0
    read: float = 30.0
    """Seconds without a byte before a request (not a watch) gives up."""


class KubeClient:
    """One cluster connection. ``transport`` lets tests pass ``httpx.MockTransport``."""

    def __init__(
        self,
        creds: Credentials,
        *,
        timeouts: Timeouts = Timeouts(),
        transport: httpx.AsyncBaseTransport | None = None,
        max_connections: int = 20,
    ) -> None:
        self.creds = creds
        self.timeouts = timeouts
        headers = {"User-Agent": USER_AGENT, "Accept": "application/json"}
        if creds.token:
            headers["Authorization"] = f"Bearer {creds.token}"
        self.http = httpx.AsyncClient(
            base_url=creds.server,
            headers=headers,
            verify=creds.ssl_context() if creds.server.startswith("https") else True,
            timeout=httpx.Timeout(timeouts.read, connect=timeouts.connect),
            limits=httpx.Limits(max_connections=max_connections),
            transport=transport,
            trust_env=False,
        )
        self._decoders: dict[type[Any], Any] = {}
        self.rejected: dict[str, dict[str, str]] = {}
        """Resource → object → why it could not be read (skipped, the rest is monitored)."""

    async def aclose(self) -> None:
        await self.http.aclose()

    # ------------------------------------------------------------------ plain requests
    async def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        request = f"{method} {path}"
        try:
            response = await self.http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise unreachable(request, exc) from exc
        if response.status_code >= 400:
            raise for_status(response.status_code, f"{request}: {_status_text(response)}", request)
        return response

    async def get_bytes(self, path: str, params: dict[str, Any] | None = None) -> bytes:
        return (await self._request("GET", path, params=params)).content

    async def version(self) -> str:
        body = await self.get_bytes("/version")
        try:
            data = json.loads(body)
            return str(data["gitVersion"])
        except (ValueError, KeyError, TypeError) as exc:
            raise BadAnswer(f"GET /version: no gitVersion in {body[:200]!r}") from exc

    async def health(self, path: str) -> tuple[int | None, str]:
        """(HTTP status, body) of ``/readyz`` or ``/livez``; (None, error) without answer."""
        try:
            r = await self.http.get(path)
        except httpx.HTTPError as exc:
            return None, str(unreachable(f"GET {path}", exc))
        return r.status_code, r.text[:500]

    # ------------------------------------------------------------------ lists and watches
    def _decoder(self, model: type[Any]) -> Any:
        dec = self._decoders.get(model)
        if dec is None:
            dec = self._decoders[model] = msgspec.json.Decoder(ListAnswer[model])  # type: ignore[valid-type]
        return dec

    async def list_all(self, res: Resource, *, page: int = PAGE) -> tuple[list[Any], str]:
        """Every object of ``res`` (paged with ``limit``/``continue``) and the list's
        resourceVersion to watch from. A 410 while paging (continue token expired) restarts."""
        for _attempt in range(3):
            try:
                return await self._list_once(res, page)
            except Gone:
                continue
        raise Gone(f"list {res.name}: continue token expired three times", 410)

    async def _list_once(self, res: Resource, page: int) -> tuple[list[Any], str]:
        self.rejected.pop(res.name, None)
        items: list[Any] = []
        token = ""
        dec = self._decoder(res.model)
        while True:
            params: dict[str, Any] = {"limit": page}
            if token:
                params["continue"] = token
            body = await self.get_bytes(res.path, params)
            try:
                answer = dec.decode(body)
            except msgspec.DecodeError:
                answer = self._decode_one_by_one(res, body)
            items.extend(answer.items or ())
            token = answer.metadata.continue_
            if not token:
                return items, answer.metadata.resource_version

    def _decode_one_by_one(self, res: Resource, body: bytes) -> ListAnswer[Any]:
        """A page with an object we cannot read (a field of the wrong type): keep the others,
        note the bad one in ``rejected`` (one bad object must not blind us to a cluster)."""
        try:
            raw = msgspec.json.decode(body, type=ListAnswer[msgspec.Raw])
        except msgspec.DecodeError as exc:
            raise BadAnswer(f"list {res.name}: {exc}") from exc
        good = []
        for item in raw.items or ():
            try:
                good.append(msgspec.json.decode(item, type=res.model))
            except msgspec.DecodeError as exc:
                self._reject(res, item, exc)
        return ListAnswer(metadata=raw.metadata, items=good)

    def _reject(self, res: Resource, item: msgspec.Raw, exc: Exception) -> None:
        try:
            meta = msgspec.json.decode(item, type=_Named).metadata
            where = f"{meta.namespace}/{meta.name}" if meta.namespace else meta.name
        except msgspec.DecodeError:
            where = "?"
        self.rejected.setdefault(res.name, {})[where] = str(exc)

    async def watch(
        self, res: Resource, resource_version: str, *, timeout_seconds: int = 300
    ) -> AsyncIterator[WatchEvent[Any]]:
        """Changes of ``res`` after ``resource_version``, bookmarks included. Raises
        :class:`Gone` when the version is too old (HTTP 410 or an ERROR event with code 410);
        returns when the server closes the stream (the caller watches again)."""
        params = {
            "watch": "1",
            "resourceVersion": resource_version,
            "allowWatchBookmarks": "true",
            "timeoutSeconds": str(timeout_seconds),
        }
        obj_dec = msgspec.json.Decoder(res.model)
        ev_dec = msgspec.json.Decoder(RawEvent)
        timeout = httpx.Timeout(timeout_seconds + 30.0, connect=self.timeouts.connect)
        try:
            async with self.http.stream("GET", res.path, params=params, timeout=timeout) as r:
                if r.status_code >= 400:
                    await r.aread()
                    raise for_status(r.status_code, f"watch {res.name}: {_status_text(r)}")
                async for line in r.aiter_lines():
                    if line.strip():
                        yield self._watch_event(res, line, ev_dec, obj_dec)
        except httpx.HTTPError as exc:
            raise unreachable(f"watch {res.name}", exc) from exc

    # ------------------------------------------------------------------ kubelet, events, RBAC
    async def node_stats(self, node: str) -> StatsSummary:
        body = await self.get_bytes(f"/api/v1/nodes/{quote(node, safe='')}/proxy/stats/summary")
        try:
            return msgspec.json.decode(body, type=StatsSummary)
        except msgspec.DecodeError as exc:
            raise BadAnswer(f"stats/summary of node {node}: {exc}") from exc

    async def node_health(self, node: str) -> tuple[int | None, str]:
        """(HTTP status, body) of the kubelet's ``/healthz`` through the node proxy (5 s: a
        dead kubelet must not hold up the evaluation)."""
        path = f"/api/v1/nodes/{quote(node, safe='')}/proxy/healthz"
        try:
            r = await self.http.get(path, timeout=KUBELET_TIMEOUT)
        except httpx.HTTPError as exc:
            return None, _describe(exc) or type(exc).__name__
        if r.status_code == 200:
            return 200, r.text[:300]
        return r.status_code, _status_text(r).removeprefix(f"{r.status_code} ")

    async def can(self, perm: Permission) -> tuple[bool, str]:
        """SelfSubjectAccessReview: may our token do ``perm``? (allowed, reason)."""
        attrs: dict[str, str] = {"verb": perm.verb, "resource": perm.resource, "group": perm.group}
        if perm.subresource:
            attrs["subresource"] = perm.subresource
        body = {
            "apiVersion": "authorization.k8s.io/v1",
            "kind": "SelfSubjectAccessReview",
            "spec": {"resourceAttributes": attrs},
        }
        r = await self._request(
            "POST", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", json=body
        )
        try:
            status = r.json().get("status", {})
        except ValueError as exc:
            raise BadAnswer(f"access review: not JSON: {r.text[:200]!r}") from exc
        return bool(status.get("allowed")), str(
            status.get("reason") or status.get("evaluationError") or ""
        )

    async def rules_review(self, namespace: str) -> dict[str, Any]:
        """SelfSubjectRulesReview: the rules our token has in ``namespace`` (the status:
        ``resourceRules``, ``incomplete``, ``evaluationError``)."""
        body = {
            "apiVersion": "authorization.k8s.io/v1",
            "kind": "SelfSubjectRulesReview",
            "spec": {"namespace": namespace},
        }
        r = await self._request(
            "POST", "/apis/authorization.k8s.io/v1/selfsubjectrulesreviews", json=body
        )
        try:
            status = r.json().get("status", {})
        except (ValueError, AttributeError) as exc:
            raise BadAnswer(f"rules review: not a review: {r.text[:200]!r}") from exc
        if not isinstance(status, dict):
            raise BadAnswer(f"rules review: status is not an object: {r.text[:200]!r}")
        return status

    def _watch_event(self, res: Resource, line: str, ev_dec: Any, obj_dec: Any) -> WatchEvent[Any]:
        try:
            raw = ev_dec.decode(line)
        except msgspec.DecodeError as exc:
            raise BadAnswer(f"watch {res.name}: bad event line {line[:200]!r}: {exc}") from exc
        if raw.type == "ERROR":
            st = msgspec.json.decode(raw.object, type=ApiStatusBody)
            raise for_status(st.code or 500, f"watch {res.name}: {st.reason} {st.message}".strip())
        if raw.type == "BOOKMARK":
            bm = msgspec.json.decode(raw.object, type=Bookmark)
            return WatchEvent("BOOKMARK", None, bm.metadata.resource_version)
        try:
            obj = obj_dec.decode(raw.object)
        except msgspec.DecodeError as exc:
            self._reject(res, raw.object, exc)
            return WatchEvent("REJECTED", None, "")
        bad = self.rejected.get(res.name)
        if bad:  # a readable version replaces (or deletes) a rejected one
            m = obj.metadata
            bad.pop(f"{m.namespace}/{m.name}" if m.namespace else m.name, None)
        return WatchEvent(raw.type, obj, obj.metadata.resource_version)


def _status_text(r: httpx.Response) -> str:
    """The message of a Kubernetes Status answer, or the start of the body."""
    try:
        data = r.json()
        if isinstance(data, dict) and data.get("message"):
            return f"{r.status_code} {data.get('reason', '')}: {data['message']}".replace(" :", ":")
    except ValueError:
        pass
    return f"{r.status_code} {r.reason_phrase}: {r.text[:200]}".rstrip(": ")


def unreachable(request: str, exc: httpx.HTTPError) -> Unreachable:
    """No answer to ``request``, in words: a refused certificate is a :class:`TlsFailure`
    (OpenSSL's reason, not ``[SSL: CERTIFICATE_VERIFY_FAILED] … (_ssl.c:1000)``); a refused
    connection, an unknown name or a timeout says which."""
    if isinstance(exc, httpx.TimeoutException):
        return Unreachable(f"{request}: timed out ({type(exc).__name__})", None, request)
    for cause in _chain(exc):
        if isinstance(cause, ssl.SSLCertVerificationError):
            reason = cause.verify_message or cause.reason or "certificate verify failed"
            return TlsFailure(f"{request}: TLS: {reason}", reason, cause.verify_code, request)
        if isinstance(cause, ssl.SSLError):
            reason = cause.reason or str(cause)
            return TlsFailure(f"{request}: TLS handshake failed: {reason}", reason, 0, request)
    return Unreachable(f"{request}: {_why_no_connection(exc)}", None, request)


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        yield cur
        cur = cur.__cause__ or cur.__context__


def _why_no_connection(exc: Exception) -> str:
    """The operating system's reason (``connection refused``) rather than anyio's summary
    (``All connection attempts failed``)."""
    for cause in _chain(exc):
        if isinstance(cause, socket.gaierror):
            return f"the host name does not resolve ({cause.strerror})"
        if isinstance(cause, OSError) and cause.errno:
            return os.strerror(cause.errno).lower()
    return _describe(exc)


def _describe(exc: Exception) -> str:
    text = str(exc) or type(exc).__name__
    cause = exc.__cause__ or exc.__context__
    if cause is not None and str(cause) and str(cause) not in text:
        text += f" ({cause})"
    return text


__all__ = ["KubeClient", "KubeError", "Timeouts", "WatchEvent"]
