"""The log-in throttle's arithmetic (time passed in)."""

from __future__ import annotations

from lookout.web.ui.throttle import LoginThrottle


def test_user_limit_window_and_reset() -> None:
    t = LoginThrottle(limit=3, address_limit=10, window=60)
    keys = ("user:ann", "addr:1.2.3.4")
    for i in range(3):
        assert t.wait(keys, 100.0 + i) == 0
        t.failed(keys, 100.0 + i)
    assert t.wait(keys, 103.0) == 57.0  # the oldest of the last three leaves at 160
    assert t.wait(keys, 160.5) == 0
    t.failed(keys, 161.0)
    t.succeeded(keys)
    assert t.wait(keys, 161.0) == 0


def test_address_limit_covers_many_user_names() -> None:
    t = LoginThrottle(limit=3, address_limit=4, window=60)
    for i in range(4):
        t.failed((f"user:u{i}", "addr:9.9.9.9"), 10.0)
    assert t.wait(("user:new", "addr:9.9.9.9"), 11.0) == 59.0
    assert t.wait(("user:new", "addr:8.8.8.8"), 11.0) == 0
