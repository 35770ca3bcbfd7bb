"""Quantities, thresholds and the value store."""

from __future__ import annotations

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from lookout.checks.kube.memory import Memory
from lookout.checks.kube.params import DEFAULT, resolve, validate
from lookout.checks.kube.quantity import quantity


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("100m", 0.1),
        ("2", 2.0),
        ("1Gi", 2**30),
        ("1.5Mi", 1.5 * 2**20),
        ("2e3", 2000.0),
        ("3k", 3000.0),
        (4, 4.0),
        ("250u", 0.00025),
    ],
)
def test_quantities(text: object, value: float) -> None:
    assert quantity(text) == pytest.approx(value)


@pytest.mark.parametrize("bad", ["", "lots", "1Xi", None, "m"])
def test_bad_quantities_are_the_default(bad: object) -> None:
    assert quantity(bad, -1.0) == -1.0


@given(st.integers(min_value=0, max_value=2**40), st.sampled_from(["", "Ki", "Mi", "Gi", "m", "k"]))
def test_quantity_suffix_round_trip(n: int, suffix: str) -> None:
    factor = {"": 1, "Ki": 1024, "Mi": 2**20, "Gi": 2**30, "m": 1e-3, "k": 1e3}[suffix]
    assert quantity(f"{n}{suffix}") == pytest.approx(n * factor)


def test_params_by_rule() -> None:
    rules = [
        {"match": {"k8s/namespace": "batch"}, "params": {"restarts_levels": [20, 50]}},
        {"match": {"k8s/label/tier": "critical"}, "params": {"pending_levels": [60, 120]}},
    ]
    assert resolve({}, rules, {"k8s/namespace": "web"}) == DEFAULT
    p = resolve({"oom_window": 60}, rules, {"k8s/namespace": "batch", "k8s/label/tier": "critical"})
    assert (p.restarts_levels, p.pending_levels, p.oom_window) == ((20, 50), (60, 120), 60)


@pytest.mark.parametrize(
    ("base", "rules", "message"),
    [
        ({"pending_levels": "soon"}, [], "pending_levels"),
        ({"no_such": 1}, [], "no_such"),
        ({}, [{"match": {}, "params": {"quota_levels": [1]}}], "rules[0]"),
        ({}, [{"when": {}}], "unknown keys"),
    ],
)
def test_bad_params_name_the_field(
    base: dict[str, object], rules: list[dict[str, object]], message: str
) -> None:
    with pytest.raises(msgspec.ValidationError, match=message.replace("[", r"\[")):
        validate(base, rules)


def test_memory_windows() -> None:
    m = Memory()
    assert m.held_for("k", True, 100) == 0
    assert m.held_for("k", True, 160) == 60
    assert m.held_for("k", False, 170) is None
    assert m.held_for("k", True, 180) == 0
    assert m.increase("r", 5, 0, 3600) == 0
    assert m.increase("r", 9, 1800, 3600) == 4
    # counted from the last sample at or before the window start (1800 s for 5400 s)
    assert m.increase("r", 12, 5400, 3600) == 3
    assert m.increase("r", 2, 5460, 3600) == 2  # a reset counts the new value
    assert [
        m.transitions("t", v, t, 900) for t, v in enumerate(["True", "False", "True", "True"])
    ] == [0, 1, 2, 2]
    for t in range(0, 7200, 600):
        slope = m.slope("s", 1000 + t, t, 6 * 3600)
    assert slope == pytest.approx(1.0)
    m.forget("s")
    assert "s" not in m.samples
