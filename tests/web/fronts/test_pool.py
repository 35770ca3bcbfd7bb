"""How many fronts ``ingest_fronts = "auto"`` starts: the CPUs this process may use, a
container's CPU quota included."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from lookout.web.fronts.pool import AUTO_MAX, auto_fronts

ALLOWED = len(os.sched_getaffinity(0))


def expected(cpus: float) -> int:
    usable = int(min(ALLOWED, cpus))
    return min(usable, AUTO_MAX) if usable > 1 else 0


@pytest.mark.parametrize(
    ("cpu_max", "cpus"),
    [
        ("max 100000\n", ALLOWED),
        ("50000 100000\n", 0.5),  # half a CPU: no fronts
        ("150000 100000\n", 1.5),  # one and a half: one usable, no fronts
        ("200000 100000\n", 2),
        ("6400000 100000\n", 64),
    ],
)
def test_a_cgroup_quota_bounds_the_fronts(tmp_path: Path, cpu_max: str, cpus: float) -> None:
    cgroup = tmp_path / "cpu.max"
    cgroup.write_text(cpu_max)
    assert auto_fronts(cgroup) == expected(cpus)


def test_without_a_cgroup_file_the_affinity_counts(tmp_path: Path) -> None:
    assert auto_fronts(tmp_path / "missing") == expected(ALLOWED)


def test_an_unreadable_quota_is_ignored(tmp_path: Path) -> None:
    cgroup = tmp_path / "cpu.max"
    cgroup.write_text("garbage\n")
    assert auto_fronts(cgroup) == expected(ALLOWED)
