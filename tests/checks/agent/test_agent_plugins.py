"""Every agent check plugin on real sections of this machine, plus crafted edge cases."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from lookout_agent import wire as w

from lookout.checks.agent import cpu, diskio, filesystem, memory, network, system
from lookout.checks.agent.api import CheckPlugin, Context, Outcome, ValueStore
from lookout.checks.agent.registry import PLUGINS

GIB = 1024**3


def run(
    plugin: CheckPlugin[Any],
    sections: w.Sections,
    item: str = "",
    now: float = 0.0,
    values: ValueStore | None = None,
    **params: Any,
) -> Outcome:
    ctx = Context(item, now, values if values is not None else ValueStore())
    return plugin.check(ctx, plugin.parse_params(params), sections)


def test_discovery_on_this_machine(push1: w.Push) -> None:
    names = {p.service(i) for p in PLUGINS for i in p.discover(push1.sections)}
    assert {"CPU utilization", "CPU load", "Memory", "Filesystem /", "Uptime", "OS"} <= names
    assert "My service" in names
    assert "Local checks" in names
    assert not any(n.startswith("Interface lo") for n in names)
    assert all(not n.startswith("Filesystem /proc") for n in names)


def test_every_discovered_service_checks_cleanly_twice(push1: w.Push, push2: w.Push) -> None:
    values = ValueStore()
    second: dict[str, Outcome] = {}
    for push in (push1, push2):
        for plugin in PLUGINS:
            for item in plugin.discover(push.sections):
                out = run(plugin, push.sections, item, push.collected_at, values)
                assert out.state in (0, 1, 2, 3)
                assert out.summary
                second[plugin.service(item)] = out
    # the second sample has rates for the interfaces and disks
    nic = next(iter(network.plugin.discover(push2.sections)))
    out = second[f"Interface {nic}"]
    assert "Mbit/s" in out.summary
    assert {m.name for m in out.metrics} >= {"if_in_bps", "if_out_bps"}


def test_cpu_utilisation_from_counters() -> None:
    def sec(user: float, idle: float) -> w.Sections:
        return w.Sections(
            cpu=w.CpuSection(cores=2, load=(0.1, 0.2, 0.3), times={"user": user, "idle": idle})
        )

    values = ValueStore()
    first = run(cpu.utilization, sec(10, 90), now=0, values=values)
    assert "average since boot" in first.summary
    assert "10.0%" in first.summary
    out = run(cpu.utilization, sec(105, 95), now=60, values=values)
    assert out.state == 2  # 95 of 100 seconds busy
    assert out.metrics[0].value == 95.0


@pytest.mark.parametrize(("load15", "state"), [(1.0, 0), (10.0, 1), (20.0, 2)])
def test_load_per_core(load15: float, state: int) -> None:
    s = w.Sections(cpu=w.CpuSection(cores=2, load=(0.0, 0.0, load15), times={}))
    assert run(cpu.load, s).state == state


@pytest.mark.parametrize(("avail_pct", "state"), [(50, 0), (8, 1), (3, 2)])
def test_memory_levels(avail_pct: int, state: int) -> None:
    s = w.Sections(
        memory=w.MemorySection(
            total=100 * GIB, available=avail_pct * GIB, swap_total=0, swap_used=0
        )
    )
    assert run(memory.plugin, s).state == state


def fs(total_gib: float, used_pct: float, mount: str = "/data") -> w.Sections:
    total = int(total_gib * GIB)
    used = int(total * used_pct / 100)
    return w.Sections(
        filesystems=[w.Filesystem(mount, "/dev/x", "ext4", total, used, total - used, 1000, 500)]
    )


@pytest.mark.parametrize(("pct", "state"), [(50.0, 0), (85.0, 1), (95.0, 2)])
def test_filesystem_levels(pct: float, state: int) -> None:
    assert run(filesystem.plugin, fs(20, pct), "/data").state == state


def test_filesystem_magic_factor_relaxes_big_filesystems() -> None:
    # 85 % of 2 TiB: WARN with plain levels, OK with a magic factor of 0.8
    assert run(filesystem.plugin, fs(2048, 85), "/data").state == 1
    out = run(filesystem.plugin, fs(2048, 85), "/data", magic=0.8)
    assert out.state == 0
    warn, crit = filesystem.effective_levels(filesystem.FsParams(magic=0.8), 2048 * GIB)
    assert 90 < warn < crit < 100


def test_filesystem_time_until_full() -> None:
    values = ValueStore()
    run(filesystem.plugin, fs(100, 50), "/data", now=0, values=values)
    out = run(
        filesystem.plugin, fs(100, 51), "/data", now=3600, values=values, trend_hours=(100, 60)
    )
    # 1 % per hour, 49 % free: ~49 hours left → CRIT below 60 h
    assert "full in" in out.summary
    assert out.state == 2
    hours = next(m for m in out.metrics if m.name == "fs_hours_left").value
    assert 45 < hours < 50


def test_vanished_filesystem_is_unknown() -> None:
    assert run(filesystem.plugin, fs(10, 10), "/gone").state == 3


def nic(up: bool, bytes_in: int, errors: int = 0) -> w.Sections:
    return w.Sections(
        interfaces=[w.Interface("eth0", up, 1000, bytes_in, 0, 1000 + bytes_in, 1000, errors, 0)]
    )


def test_interface_rates_and_link_down() -> None:
    values = ValueStore()
    run(network.plugin, nic(True, 0), "eth0", now=0, values=values)
    out = run(network.plugin, nic(True, 125_000_000), "eth0", now=10, values=values)
    assert out.state == 0
    assert "in: 100.00 Mbit/s" in out.summary
    assert run(network.plugin, nic(False, 0), "eth0").state == 2


def test_interface_errors() -> None:
    values = ValueStore()
    run(network.plugin, nic(True, 0, 0), "eth0", now=0, values=values)
    out = run(network.plugin, nic(True, 1000, 100), "eth0", now=10, values=values)
    assert out.state == 2
    assert "errors" in out.summary


def test_counter_reset_gives_no_rate() -> None:
    values = ValueStore()
    assert values.rate("x", 0, 100) is None
    assert values.rate("x", 10, 200) == 10
    assert values.rate("x", 20, 5) is None  # wrapped / reset
    assert values.rate("y", 10, 100, since=0) == 10


def test_disk_partitions_are_not_discovered() -> None:
    d = [w.Disk(n, 0, 0, 0, 0) for n in ("vda", "vda1", "nvme0n1", "nvme0n1p1", "sdb")]
    assert diskio.discover(w.Sections(disks=d)) == ["vda", "nvme0n1", "sdb"]


def test_uptime_detects_reboot() -> None:
    values = ValueStore()
    run(system.uptime, w.Sections(uptime=w.UptimeSection(1000.0)), now=5000, values=values)
    out = run(system.uptime, w.Sections(uptime=w.UptimeSection(6000.0)), now=6100, values=values)
    assert out.state == 1
    assert "rebooted" in out.summary
    later = run(system.uptime, w.Sections(uptime=w.UptimeSection(6000.0)), now=9000, values=values)
    assert later.state == 0


def test_process_groups(push1: w.Push) -> None:
    s = push1.sections
    assert s.processes
    present = s.processes[0].name
    ok = run(system.processes, s, groups=[{"name": present, "min": 1}])
    assert ok.state == 0
    missing = run(system.processes, s, groups=[{"name": "no-such-daemon", "min": 1}])
    assert missing.state == 2
    assert "no-such-daemon: 0" in missing.summary


def test_systemd_failed_units() -> None:
    s = w.Sections(systemd=w.SystemdSection(units=120, failed=["backup.service"]))
    out = run(system.systemd, s)
    assert out.state == 2
    assert "backup.service" in out.summary
    assert run(system.systemd, s, ignore=["backup.*"]).state == 0


@pytest.mark.parametrize(
    ("section", "state"),
    [
        (w.TimeSection("chrony", True, 0.001), 0),
        (w.TimeSection("chrony", True, -0.3), 1),
        (w.TimeSection("chrony", True, 2.0), 2),
        (w.TimeSection("timesyncd", False), 1),
    ],
)
def test_time_sync(section: w.TimeSection, state: int) -> None:
    assert run(system.timesync, w.Sections(time=section)).state == state


def test_invalid_params_are_reported() -> None:
    with pytest.raises(Exception, match="levels"):
        filesystem.plugin.parse_params({"levels": "high"})


def test_missing_sections_are_unknown() -> None:
    empty = w.Sections()
    for plugin in PLUGINS:
        assert list(plugin.discover(empty)) == []
        assert run(plugin, empty, "x").state == 3


def test_sections_roundtrip_through_the_wire(push1: w.Push) -> None:
    import msgspec

    again = msgspec.json.decode(w.to_json(push1), type=w.Push)
    assert dataclasses.asdict(again) == dataclasses.asdict(push1)
