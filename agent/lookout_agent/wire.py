"""The agent's wire format, version 1: what crosses the network between agent and receiver.

Owned by the agent; the Lookout server imports these dataclasses and decodes strictly into them
(msgspec), it never redefines them. Plain stdlib dataclasses so the agent needs no codec library.
Counters (bytes, operations, CPU seconds) are sent raw; the server turns them into rates.
Add fields only with defaults; anything else is a new ``WIRE_VERSION``.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from typing import Any

WIRE_VERSION = 1


@dataclass(frozen=True)
class CpuSection:
    cores: int
    load: tuple[float, float, float]
    """1, 5 and 15 minute load averages."""
    times: dict[str, float]
    """Cumulative CPU seconds by mode (user, system, idle, iowait, steal, …), all cores."""


@dataclass(frozen=True)
class MemorySection:
    total: int
    available: int
    swap_total: int
    swap_used: int


@dataclass(frozen=True)
class Filesystem:
    mountpoint: str
    device: str
    fstype: str
    total: int
    used: int
    free: int
    inodes_total: int = 0
    inodes_free: int = 0


@dataclass(frozen=True)
class Disk:
    name: str
    read_bytes: int
    write_bytes: int
    reads: int
    writes: int
    busy_ms: int = 0


@dataclass(frozen=True)
class Interface:
    name: str
    up: bool
    speed_mbps: int
    bytes_in: int
    bytes_out: int
    packets_in: int
    packets_out: int
    errors_in: int
    errors_out: int
    drops_in: int = 0
    drops_out: int = 0


@dataclass(frozen=True)
class UptimeSection:
    boot_time: float
    """Unix seconds of the last boot."""


@dataclass(frozen=True)
class ProcessGroup:
    name: str
    count: int
    rss: int
    """Resident memory of all processes of that name, in bytes."""


@dataclass(frozen=True)
class SystemdSection:
    units: int
    failed: list[str]


@dataclass(frozen=True)
class TimeSection:
    source: str
    """chrony or timesyncd/ntp."""
    synced: bool
    offset: float | None = None
    """Seconds the local clock is off (None: not reported by the source)."""


@dataclass(frozen=True)
class OsSection:
    name: str
    version: str
    kernel: str
    arch: str
    hostname: str


@dataclass(frozen=True)
class LocalSection:
    lines: list[str]
    """Output lines of the local checks, ``STATE "Service name" metrics Summary``."""
    errors: list[str] = field(default_factory=list)
    """Scripts that failed to run (timeout, not executable, exit code), one line each."""


@dataclass(frozen=True)
class Sections:
    cpu: CpuSection | None = None
    memory: MemorySection | None = None
    filesystems: list[Filesystem] | None = None
    disks: list[Disk] | None = None
    interfaces: list[Interface] | None = None
    uptime: UptimeSection | None = None
    processes: list[ProcessGroup] | None = None
    systemd: SystemdSection | None = None
    time: TimeSection | None = None
    os: OsSection | None = None
    local: LocalSection | None = None


@dataclass(frozen=True)
class Push:
    """One push: everything collected at ``collected_at``; ``interval`` is the agent's period."""

    wire_version: int
    agent_version: str
    collected_at: float
    interval: float
    sections: Sections
    collect_ms: float = 0.0
    """How long the collection took, in milliseconds."""


@dataclass(frozen=True)
class RegisterRequest:
    token: str
    csr: str
    """PEM certificate signing request, subject CN = the agent's UUID."""
    hostname: str = ""


@dataclass(frozen=True)
class RenewRequest:
    csr: str


@dataclass(frozen=True)
class Certificate:
    """The receiver's answer to a registration or renewal."""

    host: str
    uuid: str
    certificate: str
    ca: str
    not_after: float
    site: str = ""


@dataclass(frozen=True)
class PushAnswer:
    accepted: int
    discovered: int = 0
    renew: bool = False
    """The server asks for a renewal (certificate past 2/3 of its life)."""


def to_json(obj: Any) -> bytes:
    """Encode a wire dataclass with the stdlib (the agent has no codec dependency)."""
    return json.dumps(dataclasses.asdict(obj), separators=(",", ":")).encode()
