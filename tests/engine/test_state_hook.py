"""The engine's state hook (event handlers): called on every state change, hard change and
further soft attempt, as Nagios runs event handlers; not on steady results."""

from __future__ import annotations

from test_handling import S1, make_engine, send

from lookout.engine.status import Status


def test_hook_runs_on_changes_and_soft_attempts_only() -> None:
    eng = make_engine(max_attempts=3)
    seen: list[tuple[int, str, int]] = []

    def hook(st: Status) -> None:
        seen.append((st.state, st.state_type, st.attempt))

    eng.on_state = hook
    send(eng, 1.0, 0)  # first result OK: PENDING → OK is nothing to handle
    send(eng, 2.0, 0)  # steady OK
    for at in (3.0, 4.0, 5.0, 6.0):  # CRIT soft 1, soft 2, hard 3, hard (steady)
        send(eng, at, 2)
    send(eng, 7.0, 0)  # recovery
    assert seen == [(2, "soft", 1), (2, "soft", 2), (2, "hard", 3), (0, "hard", 1)]
    assert eng.status[S1].state == 0
