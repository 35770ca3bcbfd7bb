"""A host without a host check is UP (as Nagios has it) until a host result says otherwise,
in every view that reads its status (issue 17: it used to stay PENDING forever)."""

from __future__ import annotations

from lookout.domain.events import EventType
from lookout.domain.objects import HostConfig
from lookout.domain.results import CheckResult
from lookout.engine.core import NO_HOST_CHECK, Engine
from lookout.engine.inputs import Results


def test_a_host_without_check_is_up_from_the_start() -> None:
    eng = Engine()
    eng.put_host(HostConfig(name="db"), at=10.0)
    st = eng.status[("db", "")]
    assert (st.checked, st.state, st.hard, st.summary) == (True, 0, True, NO_HOST_CHECK)
    assert st.last_check == 0.0  # no check ran: nothing claims one did
    assert st in eng.dirty


def test_a_host_result_decides_and_a_down_is_a_change_from_up() -> None:
    eng = Engine()
    eng.put_host(HostConfig(name="db"), at=10.0)
    eng.apply(Results(at=20.0, results=[CheckResult("db", "", 1, "no route")]))
    st = eng.status[("db", "")]
    assert (st.state, st.summary) == (1, "no route")
    [change] = [e for e in eng.events if e.type == EventType.STATE_CHANGE]
    assert (change.data["old_state"], change.state) == (0, 1)
    eng.put_host(HostConfig(name="db", address="10.0.0.1"), at=30.0)  # an edit keeps it
    assert (st.state, st.summary) == (1, "no route")


def test_a_host_that_gains_a_check_waits_for_its_first_result() -> None:
    eng = Engine()
    eng.put_host(HostConfig(name="db"), at=10.0)
    eng.put_host(HostConfig(name="db", check={"type": "alive"}), at=20.0)
    st = eng.status[("db", "")]
    assert (st.checked, st.summary) == (False, "Waiting for the first result")
    eng.put_host(HostConfig(name="db"), at=30.0)  # and loses it again before any result
    assert (st.checked, st.summary) == (True, NO_HOST_CHECK)
