"""All agent check plugins, in the order their services are created."""

from __future__ import annotations

from typing import Any

from lookout.checks.agent import cpu, diskio, filesystem, local, memory, network, system
from lookout.checks.agent.api import CheckPlugin

PLUGINS: tuple[CheckPlugin[Any], ...] = (
    cpu.utilization,
    cpu.load,
    memory.plugin,
    filesystem.plugin,
    diskio.plugin,
    network.plugin,
    system.uptime,
    system.processes,
    system.systemd,
    system.timesync,
    system.os_info,
    local.summary,
    local.lines,
)
BY_NAME: dict[str, CheckPlugin[Any]] = {p.name: p for p in PLUGINS}
