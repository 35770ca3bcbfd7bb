"""Collect one set of sections from this host (psutil plus a few files and commands)."""

from __future__ import annotations

import os
import platform
import shutil
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import psutil

from lookout_agent import localchecks
from lookout_agent import wire as w

PSEUDO_FS = frozenset(
    {
        "autofs", "binfmt_misc", "bpf", "cgroup", "cgroup2", "configfs", "debugfs", "devpts",
        "devtmpfs", "efivarfs", "fusectl", "hugetlbfs", "mqueue", "nsfs", "overlay", "proc",
        "pstore", "ramfs", "rpc_pipefs", "securityfs", "squashfs", "sysfs", "tmpfs", "tracefs",
        "fuse.lxcfs", "fuse.snapfuse", "fuse.portal", "nfsd", "selinuxfs", "iso9660",
    }
)  # fmt: skip
"""Filesystems that hold no user data (or whose fullness is meaningless)."""

SKIP_DISKS = ("loop", "ram", "zram", "sr", "fd")
T = TypeVar("T")


def collect(local_dir: Path | None = None, timeout: float = 10.0) -> tuple[w.Sections, float]:
    """All sections, and the milliseconds the collection took. A failing section is left out
    (None) rather than failing the whole push."""
    start = time.perf_counter()
    sections = w.Sections(
        cpu=_safe(cpu),
        memory=_safe(memory),
        filesystems=_safe(filesystems),
        disks=_safe(disks),
        interfaces=_safe(interfaces),
        uptime=_safe(lambda: w.UptimeSection(boot_time=psutil.boot_time())),
        processes=_safe(processes),
        systemd=_safe(lambda: systemd(timeout)),
        time=_safe(lambda: timesync(timeout)),
        os=_safe(os_info),
        local=_safe(lambda: localchecks.run(local_dir, timeout)) if local_dir else None,
    )
    return sections, (time.perf_counter() - start) * 1000


def _safe(fn: Callable[[], T]) -> T | None:
    try:
        return fn()
    except Exception:  # one broken source must not stop the others
        return None


def cpu() -> w.CpuSection:
    times = psutil.cpu_times()._asdict()
    load = os.getloadavg()
    return w.CpuSection(
        cores=psutil.cpu_count() or 1,
        load=(load[0], load[1], load[2]),
        times={k: float(v) for k, v in times.items()},
    )


def memory() -> w.MemorySection:
    vm = psutil.virtual_memory()
    sw = psutil.swap_memory()
    return w.MemorySection(
        total=vm.total, available=vm.available, swap_total=sw.total, swap_used=sw.used
    )


def filesystems() -> list[w.Filesystem]:
    out: list[w.Filesystem] = []
    seen: set[str] = set()
    for part in psutil.disk_partitions(all=False):
        if part.fstype in PSEUDO_FS or part.mountpoint in seen:
            continue
        seen.add(part.mountpoint)
        try:
            st = os.statvfs(part.mountpoint)
        except OSError:
            continue
        total = st.f_blocks * st.f_frsize
        if total == 0:
            continue
        free = st.f_bavail * st.f_frsize
        used = (st.f_blocks - st.f_bfree) * st.f_frsize
        out.append(
            w.Filesystem(
                mountpoint=part.mountpoint,
                device=part.device,
                fstype=part.fstype,
                total=total,
                used=used,
                free=free,
                inodes_total=st.f_files,
                inodes_free=st.f_favail,
            )
        )
    return out


def disks() -> list[w.Disk]:
    counters = psutil.disk_io_counters(perdisk=True) or {}
    return [
        w.Disk(
            name=name,
            read_bytes=c.read_bytes,
            write_bytes=c.write_bytes,
            reads=c.read_count,
            writes=c.write_count,
            busy_ms=getattr(c, "busy_time", 0),
        )
        for name, c in sorted(counters.items())
        if not name.startswith(SKIP_DISKS)
    ]


def interfaces() -> list[w.Interface]:
    counters = psutil.net_io_counters(pernic=True)
    stats = psutil.net_if_stats()
    out: list[w.Interface] = []
    for name, c in sorted(counters.items()):
        st = stats.get(name)
        out.append(
            w.Interface(
                name=name,
                up=bool(st and st.isup),
                speed_mbps=st.speed if st else 0,
                bytes_in=c.bytes_recv,
                bytes_out=c.bytes_sent,
                packets_in=c.packets_recv,
                packets_out=c.packets_sent,
                errors_in=c.errin,
                errors_out=c.errout,
                drops_in=c.dropin,
                drops_out=c.dropout,
            )
        )
    return out


def processes() -> list[w.ProcessGroup]:
    """Processes grouped by name: count and resident memory (reads /proc once per process)."""
    groups: dict[str, list[int]] = {}
    for proc in psutil.process_iter(["name", "memory_info"]):
        info = proc.info
        name = info.get("name") or "?"
        mem = info.get("memory_info")
        g = groups.setdefault(name, [0, 0])
        g[0] += 1
        g[1] += mem.rss if mem else 0
    return [w.ProcessGroup(name=n, count=c, rss=r) for n, (c, r) in sorted(groups.items())]


def systemd(timeout: float) -> w.SystemdSection | None:
    if not shutil.which("systemctl") or not Path("/run/systemd/system").is_dir():
        return None
    out = subprocess.run(
        ["systemctl", "list-units", "--all", "--no-legend", "--plain", "--no-pager"],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    ).stdout
    units = failed = 0
    names: list[str] = []
    for line in out.splitlines():
        parts = line.split(None, 4)
        if len(parts) < 4:
            continue
        units += 1
        if parts[2] == "failed":
            failed += 1
            names.append(parts[0])
    return w.SystemdSection(units=units, failed=names)


def timesync(timeout: float) -> w.TimeSection | None:
    if shutil.which("chronyc"):
        out = subprocess.run(
            ["chronyc", "-c", "tracking"], capture_output=True, text=True, timeout=timeout
        )
        fields = out.stdout.strip().split(",")
        if out.returncode == 0 and len(fields) > 4:
            offset = float(fields[4])  # "System time" (seconds, CSV format)
            return w.TimeSection(source="chrony", synced=fields[1] != "0.0.0.0", offset=offset)
    if shutil.which("timedatectl"):
        out = subprocess.run(
            ["timedatectl", "show", "-p", "NTPSynchronized", "--value"],
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if out.returncode == 0 and out.stdout.strip() in ("yes", "no"):
            return w.TimeSection(source="timesyncd", synced=out.stdout.strip() == "yes")
    return None


def os_info() -> w.OsSection:
    name, version = platform.system(), ""
    try:
        rel = platform.freedesktop_os_release()
        name = rel.get("NAME", name)
        version = rel.get("VERSION", rel.get("VERSION_ID", ""))
    except OSError:
        pass
    return w.OsSection(
        name=name,
        version=version,
        kernel=platform.release(),
        arch=platform.machine(),
        hostname=socket.gethostname(),
    )
