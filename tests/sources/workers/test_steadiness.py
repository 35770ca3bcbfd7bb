"""When the site's view of a pool consumer may say "no worker took this job"."""

from __future__ import annotations

from lookout.sources.workers.steadiness import ConsumerView, Steadiness


def view(delivered: int, leader: str = "n1") -> ConsumerView:
    return ConsumerView(delivered=delivered, waiting=0, leader=leader)


def test_the_first_view_is_steady() -> None:
    assert Steadiness(5.0).saw("default", view(3), now=100.0)


def test_a_failed_read_is_not_steady_and_steadiness_starts_again_at_the_next_good_one() -> None:
    s = Steadiness(5.0)
    s.saw("default", view(3), now=100.0)
    assert not s.saw("default", None, now=101.0)
    assert not s.saw("default", view(3), now=102.0)
    assert not s.saw("default", view(4), now=106.9)
    assert s.saw("default", view(4), now=107.0)


def test_a_new_leader_is_not_trusted_for_the_settle_time() -> None:
    s = Steadiness(5.0)
    s.saw("default", view(10, "n1"), now=100.0)
    assert not s.saw("default", view(10, "n2"), now=101.0)
    assert s.saw("default", view(11, "n2"), now=106.0)


def test_a_delivered_sequence_that_goes_back_is_stale() -> None:
    s = Steadiness(5.0)
    s.saw("default", view(10), now=100.0)
    assert not s.saw("default", view(7), now=101.0)  # the same leader, behind: a lagging copy
    assert not s.saw("default", view(9), now=105.0)
    assert s.saw("default", view(9), now=106.0)


def test_a_stalled_site_trusts_no_view_for_the_settle_time() -> None:
    s = Steadiness(5.0)
    s.saw("default", view(1), now=100.0)
    s.saw("snmp", view(1), now=100.0)
    s.shaken(now=200.0)
    assert not s.saw("default", view(1), now=204.0)
    assert s.saw("snmp", view(1), now=205.0)


def test_pools_are_judged_apart() -> None:
    s = Steadiness(5.0)
    s.saw("default", view(1, "n1"), now=100.0)
    s.saw("snmp", view(1, "n1"), now=100.0)
    assert not s.saw("default", view(1, "n2"), now=101.0)
    assert s.saw("snmp", view(1, "n1"), now=101.0)
