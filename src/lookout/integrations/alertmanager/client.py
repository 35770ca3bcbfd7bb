"""Alertmanager's API v2, the part the silence sync uses. Failures become TemporaryFailure
(unreachable, 5xx) or PermanentFailure (another 4xx: a refused silence, a wrong token)."""

from __future__ import annotations

from typing import Any

import httpx
import pydantic

from lookout.errors import PermanentFailure, TemporaryFailure
from lookout.wire.alertmanager import GettableAlert, Silence

_silences = pydantic.TypeAdapter(list[Silence])
_alerts = pydantic.TypeAdapter(list[GettableAlert])


class AlertmanagerClient:
    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http

    async def _call(self, method: str, path: str, body: Any = None) -> httpx.Response:
        try:
            resp = await self.http.request(method, f"/api/v2{path}", json=body)
        except httpx.HTTPError as exc:
            raise TemporaryFailure(f"Alertmanager {method} {path}: {exc!r}") from exc
        if resp.status_code >= 500:
            raise TemporaryFailure(f"Alertmanager {method} {path}: {resp.status_code}")
        if resp.status_code >= 400:
            raise PermanentFailure(
                f"Alertmanager {method} {path}: {resp.status_code} {resp.text[:300]}"
            )
        return resp

    async def silences(self) -> list[Silence]:
        resp = await self._call("GET", "/silences")
        try:
            return _silences.validate_json(resp.content)
        except pydantic.ValidationError as exc:
            raise PermanentFailure(f"Alertmanager GET /silences: unexpected answer: {exc}") from exc

    async def create_silence(self, body: dict[str, Any]) -> str:
        """The new silence's id (``body`` with an ``id`` updates that silence)."""
        resp = await self._call("POST", "/silences", body)
        silence_id = resp.json().get("silenceID")
        if not isinstance(silence_id, str) or not silence_id:
            raise PermanentFailure(f"Alertmanager POST /silences: no silenceID in {resp.text!r}")
        return silence_id

    async def expire_silence(self, silence_id: str) -> None:
        """Expire a silence; one that is gone or expired already is fine."""
        try:
            await self._call("DELETE", f"/silence/{silence_id}")
        except PermanentFailure as exc:
            if " 404 " not in str(exc) and "already expired" not in str(exc):
                raise

    async def alerts(self) -> list[GettableAlert]:
        resp = await self._call("GET", "/alerts")
        return _alerts.validate_json(resp.content)
