"""The checks' value store: saved and loaded without changing an answer; swept of what no
check used."""

from __future__ import annotations

import msgspec
import pytest

from lookout.checks.kube.memory import Memory


def _use(m: Memory, now: float) -> tuple[object, ...]:
    return (
        m.held_for("d/replicas", True, now, start=now - 100),
        m.increase("d/restarts", 3 + now // 60, now, 3600),
        m.slope("pvc/ns/data", 1000.0 + now, now, 6 * 3600),
        m.transitions("node/n1/ready", "True" if (now // 60) % 2 else "False", now, 900),
    )


def test_a_loaded_memory_answers_as_the_saved_one() -> None:
    m = Memory()
    for t in range(0, 600, 60):
        _use(m, float(t))
    loaded = Memory.load(m.dump())
    assert _use(loaded, 660.0) == _use(m, 660.0)
    assert _use(loaded, 720.0) == (820.0, 12.0, pytest.approx(1.0), 10)


def test_a_counter_that_does_not_change_is_one_sample() -> None:
    m = Memory()
    for t in range(0, 3600, 60):
        m.increase("k", 5, float(t), 3600)
    assert len(m.samples["k"]) == 1


def test_sweep_forgets_what_no_check_used() -> None:
    m = Memory()
    _use(m, 0.0)
    m.sweep()
    m.held_for("d/replicas", True, 60.0)
    m.keep("pvc/ns/data")
    m.sweep()
    assert set(m.since) == {"d/replicas"}
    assert set(m.samples) == {"pvc/ns/data"}
    assert m.changes == {}
    assert m.last == {}


def test_something_else_is_refused() -> None:
    with pytest.raises(msgspec.DecodeError):
        Memory.load(b"\x93\x01\x02")
