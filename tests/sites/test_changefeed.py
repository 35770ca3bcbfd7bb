"""The change feed central sites follow, on a real engine (no I/O)."""

from __future__ import annotations

from lookout.domain.objects import HostConfig, ServiceConfig
from lookout.domain.results import CheckResult
from lookout.engine import inputs as inp
from lookout.engine.core import Engine
from lookout.sites.changefeed import ChangeFeed
from lookout.wire.central import ChangesPage

T = 1_000_000.0


def _engine(hosts: int = 3, services: int = 4) -> Engine:
    eng = Engine()
    for h in range(hosts):
        eng.put_host(HostConfig(name=f"h{h}"), T)
        for s in range(services):
            eng.put_service(ServiceConfig(host=f"h{h}", name=f"s{s}"), T)
    eng.dirty.clear()
    return eng


def _keys(page: ChangesPage) -> set[tuple[str, str]]:
    return {(o.host, o.service) for o in page.items}


def test_a_full_sync_comes_in_pages_in_name_order() -> None:
    eng = _engine()
    feed = ChangeFeed(eng, "dc2")
    seen: list[tuple[str, str]] = []
    page = feed.page("", None, 5)
    cursor = page.cursor
    while True:
        assert page.full
        seen += [(o.host, o.service) for o in page.items]
        if not page.more:
            break
        last = page.items[-1]
        page = feed.page("", (last.host, last.service), 5)
    assert seen == sorted(eng.status)
    assert feed.page(cursor, None, 100).items == []


def test_changes_since_a_cursor_and_nothing_for_a_steady_ok() -> None:
    eng = _engine()
    feed = ChangeFeed(eng, "dc2")
    cursor = feed.page("", None, 1000).cursor
    eng.apply_results([CheckResult("h0", "s1", 2, "disk full")], T + 1)
    page = feed.page(cursor, None, 1000)
    assert _keys(page) == {("h0", "s1")}
    assert page.items[0].state == 2
    assert page.items[0].summary == "disk full"
    again = feed.page(page.cursor, None, 1000)
    assert again.items == []
    eng.apply_results([CheckResult("h0", "s2", 0, "fine")], T + 2)
    page = feed.page(page.cursor, None, 1000)
    assert _keys(page) == {("h0", "s2")}  # its first result
    eng.apply_results([CheckResult("h0", "s2", 0, "fine")], T + 3)
    assert feed.page(page.cursor, None, 1000).items == []  # same shown fields: nothing


def test_a_host_going_down_sends_its_services_again() -> None:
    eng = _engine()
    feed = ChangeFeed(eng, "dc2")
    eng.apply_results([CheckResult("h1", "s0", 2, "x")], T + 1)
    cursor = feed.page("", None, 1000).cursor
    eng.apply_results([CheckResult("h1", "", 1, "down")], T + 2)
    page = feed.page(cursor, None, 1000)
    assert ("h1", "") in _keys(page)
    s0 = next(o for o in page.items if o.service == "s0")
    assert s0.handled


def test_acks_removals_and_a_checkpoint_in_between() -> None:
    eng = _engine()
    feed = ChangeFeed(eng, "dc2")
    eng.apply_results([CheckResult("h2", "s3", 2, "x")], T + 1)
    cursor = feed.page("", None, 1000).cursor
    eng.apply(inp.Acknowledge(at=T + 2, keys=[("h2", "s3")], author="a", comment="c"))
    feed.sweep()  # what the runner calls before a checkpoint clears the dirty set
    eng.dirty.clear()
    eng.remove_service("h0", "s0")
    feed.sweep()
    eng.deleted.clear()
    page = feed.page(cursor, None, 1000)
    assert _keys(page) == {("h2", "s3")}
    assert page.items[0].acknowledged
    assert page.removed == [("h0", "s0")]
    assert feed.page(page.cursor, None, 1000).removed == []


def test_a_cursor_of_another_run_asks_for_a_full_sync() -> None:
    eng = _engine()
    old = ChangeFeed(eng, "dc2").page("", None, 1000).cursor
    page = ChangeFeed(eng, "dc2").page(old, None, 1000)
    assert page.reset
    assert page.full
    assert len(page.items) == len(eng.status)


def test_a_page_limit_splits_changes_without_losing_any() -> None:
    eng = _engine(hosts=2, services=10)
    feed = ChangeFeed(eng, "dc2")
    cursor = feed.page("", None, 1000).cursor
    eng.apply_results([CheckResult("h0", f"s{i}", 1, "w") for i in range(10)], T + 1)
    got: set[tuple[str, str]] = set()
    while True:
        page = feed.page(cursor, None, 3)
        got |= _keys(page)
        cursor = page.cursor
        if not page.more:
            break
    assert got == {("h0", f"s{i}") for i in range(10)}
