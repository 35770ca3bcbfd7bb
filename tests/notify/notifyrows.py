"""Outbox rows for tests."""

from __future__ import annotations

from typing import Any

from lookout.notify.store import PENDING


def row(
    n: int,
    *,
    channel: str = "chat",
    kind: str = "problem",
    host: str = "h",
    service: str = "",
    at: float = 1_000_000.0,
    recipient: str = "*",
) -> dict[str, Any]:
    svc = service or f"svc-{n}"
    return {
        "key": f"e{n}:r:{channel}:{recipient}:{kind}",
        "event_id": n,
        "kind": kind,
        "rule": "r",
        "channel": channel,
        "recipient": recipient,
        "host": host,
        "service": svc,
        "number": 1,
        "payload": {
            "kind": kind,
            "host": host,
            "service": svc,
            "state": "CRIT" if kind == "problem" else "OK",
            "summary": f"#{n}",
            "at": at,
            "event_id": n,
        },
        "status": PENDING,
        "attempts": 0,
        "created_at": at,
        "due_at": at,
        "sent_at": None,
        "error": "",
        "external_id": "",
    }
