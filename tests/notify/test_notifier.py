"""The notifier inside a running site: defaults, recovery, held problems, repeats, replay."""

from __future__ import annotations

import asyncio

import pytest
from harness import Harness, until
from notifysite import HOOK, rows, settled

from lookout.engine.inputs import Target

pytestmark = pytest.mark.integration

PAGER = {"name": "pager", "spec": {"type": "webhook", "url": "http://127.0.0.1:9/pager"}}


async def test_soft_then_hard_then_recovery(h: Harness) -> None:
    await h.configure([HOOK], [{"name": "all", "channels": ["hook"]}])
    await h.service("db1", "Disk", attempts=2)
    await h.result("db1", "Disk", 2)  # soft
    await settled(h)
    assert rows(h) == []
    await h.result("db1", "Disk", 2)  # hard
    await settled(h)
    assert [(d.kind, d.number) for d in rows(h)] == [("problem", 1)]
    await h.result("db1", "Disk", 0)
    await settled(h)
    assert [d.kind for d in rows(h)] == ["problem", "recovery"]


async def test_acknowledged_problem_is_quiet_except_the_ack(h: Harness) -> None:
    await h.configure([HOOK], [{"name": "all", "channels": ["hook"]}])
    await h.service("db1", "Disk")
    await h.result("db1", "Disk", 1)
    await h.site.chatops.actions.acknowledge(
        Target(host="db1", service="Disk"), author="ann", comment="mine"
    )
    await h.result("db1", "Disk", 2)  # sticky ack: WARN -> CRIT stays quiet
    await settled(h)
    assert [d.kind for d in rows(h)] == ["problem", "acknowledgement"]
    assert rows(h)[1].payload["author"] == "ann"


async def test_recovery_goes_only_to_whoever_got_the_problem(h: Harness) -> None:
    await h.configure(
        [HOOK, PAGER],
        [
            {"name": "crit", "channels": ["pager"], "states": ["CRIT"], "events": ["problem"]},
            {"name": "all", "channels": ["hook"], "events": ["problem"], "hosts": ["nope"]},
        ],
    )
    await h.service("db1", "Disk")
    await h.result("db1", "Disk", 2)
    await h.result("db1", "Disk", 0)
    await settled(h)
    assert [(d.kind, d.channel) for d in rows(h)] == [("problem", "pager"), ("recovery", "pager")]


async def test_service_problem_on_down_host_is_held_then_sent(h: Harness) -> None:
    await h.configure([HOOK], [{"name": "all", "channels": ["hook"], "events": ["problem"]}])
    await h.service("db1", "Disk")
    await h.result("db1", "", 1)  # host DOWN (hard at once: max 1 attempt)
    await h.result("db1", "Disk", 2)
    await settled(h)
    assert [(d.host, d.service) for d in rows(h)] == [("db1", "")]
    await h.result("db1", "", 0)
    await settled(h)
    h.clock.advance(60)  # type: ignore[attr-defined]
    await h.site.notifier.rescan()
    assert [(d.kind, d.service) for d in rows(h) if d.service] == [("problem", "Disk")]
    await h.site.notifier.rescan()  # stable key: no second late notification
    assert len([d for d in rows(h) if d.service]) == 1


async def test_repeat_and_escalation_by_number(h: Harness) -> None:
    await h.configure(
        [HOOK, PAGER],
        [
            {"name": "team", "channels": ["hook"], "repeat_every": 600, "events": ["problem"]},
            {"name": "boss", "channels": ["pager"], "from_number": 3, "events": ["problem"]},
        ],
    )
    await h.service("db1", "Disk")
    await h.result("db1", "Disk", 2)
    await settled(h)
    for _ in range(2):
        h.clock.advance(601)  # type: ignore[attr-defined]
        await h.site.notifier.rescan()
    assert [(d.number, d.channel) for d in rows(h)] == [
        (1, "hook"),
        (2, "hook"),
        (3, "hook"),
        (3, "pager"),
    ]


async def test_replay_from_the_event_log_sends_nothing_twice(h: Harness) -> None:
    await h.configure([HOOK], [{"name": "all", "channels": ["hook"]}])
    await h.service("db1", "Disk")
    await h.result("db1", "Disk", 2)
    await settled(h)
    before = len(rows(h))
    await h.site.runner.checkpoint()  # events now in the event log
    h.site.notifier.cursor = 0  # as if the cursor had been lost: read everything again
    await h.site.notifier.catch_up()
    assert len(rows(h)) == before == 1


async def test_delay_holds_a_problem_until_it_has_passed(h: Harness) -> None:
    await h.configure([HOOK], [{"name": "late", "channels": ["hook"], "delay": 300}])
    await h.service("db1", "Disk")
    await h.result("db1", "Disk", 2)
    await settled(h)
    [problem] = rows(h)
    assert problem.due_at == problem.created_at + 300
    h.clock.advance(299)  # type: ignore[attr-defined]
    await asyncio.sleep(0.1)  # the lane would have sent by now if it were due
    assert [(d.status, d.attempts) for d in rows(h)] == [("pending", 0)]
    h.clock.advance(2)  # type: ignore[attr-defined]
    await until(lambda: rows(h)[0].attempts == 1, what="the first attempt after the delay")


async def test_delay_cancels_a_problem_that_recovered_meanwhile(h: Harness) -> None:
    await h.configure([HOOK], [{"name": "late", "channels": ["hook"], "delay": 300}])
    await h.service("db1", "Disk")
    await h.result("db1", "Disk", 2)
    await settled(h)
    h.clock.advance(100)  # type: ignore[attr-defined]
    await h.result("db1", "Disk", 0)
    await settled(h)
    h.clock.advance(201)  # type: ignore[attr-defined]
    await until(lambda: rows(h)[0].status == "cancelled", what="the problem cancelled")
    assert [(d.kind, d.attempts, d.error) for d in rows(h)] == [
        ("problem", 0, "recovered before the notification delay passed")
    ]
