"""The notifier plans a long list of events in slices, yielding to the event loop between them
(issue 19): a catch-up of 100,000s of events held every answer of the site for seconds."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from harness import Harness
from notifysite import HOOK

from lookout.domain.events import Event, EventType
from lookout.notify.notifier import PLAN_SLICE

pytestmark = pytest.mark.integration


async def test_a_long_catch_up_lets_the_loop_run_between_slices(
    h: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    await h.service("db1", "Disk")
    # a rule, even one these events do not match: without rules nothing is planned at all
    await h.configure(
        [HOOK], [{"name": "acks", "channels": ["hook"], "events": ["acknowledgement"]}]
    )
    notifier = h.site.notifier
    planned = 0
    plan = notifier._plan_event

    async def counting(*args: Any) -> list[dict[str, Any]]:
        nonlocal planned
        planned += 1
        return await plan(*args)

    monkeypatch.setattr(notifier, "_plan_event", counting)
    first = max(notifier.cursor, h.site.engine.next_id) + 1
    total = 4 * PLAN_SLICE
    events = [
        Event(
            id=first + k,
            at=h.site.clock(),
            type=EventType.STATE_CHANGE,
            host="db1",
            service="Disk",
            state=2,
            state_type="soft",
            attempt=1,
            summary=f"soft {k}",
        )
        for k in range(total)
    ]
    seen: list[int] = []
    done = False

    async def loop_turns() -> None:
        while not done:
            seen.append(planned)
            await asyncio.sleep(0)

    turns = asyncio.create_task(loop_turns())
    await asyncio.sleep(0)
    try:
        await notifier.process(events)
    finally:
        done = True
        await turns
    assert planned == total
    between = sorted({n for n in seen if 0 < n < total})
    assert len(between) >= 3  # the loop ran after each slice, not only before and after
    assert notifier.cursor == events[-1].id
