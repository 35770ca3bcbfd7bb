"""The shared failure throttle: limits per key position, a sliding window, bounded memory."""

from __future__ import annotations

from lookout.web.throttle import MIN_SWEEP, FailureThrottle


def test_blocked_until_the_oldest_counted_failure_leaves_the_window() -> None:
    t = FailureThrottle((3,), window=10.0)
    for i in range(3):
        assert t.wait(("a",), 100.0 + i) == 0
        t.failed(("a",), 100.0 + i)
    assert t.wait(("a",), 102.5) == 7.5
    assert t.wait(("b",), 102.5) == 0
    assert t.wait(("a",), 110.0) == 0  # the failure at 100 is out
    t.failed(("a",), 110.0)
    assert t.wait(("a",), 110.0) == 1.0  # 101, 102, 110: 101 leaves at 111


def test_a_key_keeps_only_its_limit_of_times_and_expired_keys_are_swept() -> None:
    t = FailureThrottle((2,), window=1.0)
    for i in range(100):
        t.failed(("a",), 5.0 + i / 1000)
    assert len(t._failures["a"]) == 2
    for i in range(MIN_SWEEP - 2):
        t.failed((f"k{i}",), 0.0)
    assert len(t) == MIN_SWEEP - 1
    t.failed(("new",), 5.5)  # the table reached the sweep size: the expired keys go
    assert len(t) == 2
