"""Warning events of the whole cluster (``/api/v1/events?fieldSelector=type=Warning``), read
page by page up to a bound, for the per-object summaries of the "Warning events" services."""

from __future__ import annotations

import msgspec

from lookout.checks.kube.sections import Event
from lookout.sources.kube.client import KubeClient, ListAnswer
from lookout.sources.kube.errors import BadAnswer

PAGE = 500
MAX_PAGES = 20
"""At most this many pages (10,000 events) per round: a storm must not stall the collector."""


async def warning_events(client: KubeClient, max_pages: int = MAX_PAGES) -> list[Event]:
    out: list[Event] = []
    token = ""
    decoder = msgspec.json.Decoder(ListAnswer[Event])
    for _ in range(max_pages):
        params: dict[str, str | int] = {"fieldSelector": "type=Warning", "limit": PAGE}
        if token:
            params["continue"] = token
        body = await client.get_bytes("/api/v1/events", params)
        try:
            answer = decoder.decode(body)
        except msgspec.DecodeError as exc:
            raise BadAnswer(f"warning events: {exc}") from exc
        out.extend(e for e in answer.items or () if e.type == "Warning")
        token = answer.metadata.continue_
        if not token:
            break
    return out
