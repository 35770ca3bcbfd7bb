"""The live, mutable status of one host or service (owned by the engine, never shared)."""

from __future__ import annotations

from lookout.domain.handling import Ack
from lookout.domain.metrics import Metric
from lookout.domain.objects import HostConfig, ServiceConfig


class Status:
    """Current state of one object. ``service == ""`` for a host. Mutated only by the
    transition functions and the engine."""

    __slots__ = (
        "ack",
        "attempt",
        "cfg",
        "checked",
        "downtime_depth",
        "flap_changes",
        "flap_history",
        "flapping",
        "hard",
        "host",
        "host_problem",
        "host_status",
        "last_check",
        "last_hard_state",
        "last_hard_state_change",
        "last_ok",
        "last_result",
        "last_state_change",
        "long_output",
        "metrics",
        "percent_state_change",
        "service",
        "stale",
        "state",
        "summary",
    )

    def __init__(self, host: str, service: str, created_at: float) -> None:
        self.host = host
        self.service = service
        self.state = 0
        self.hard = True
        self.attempt = 1
        self.last_hard_state = 0
        self.checked = False
        self.last_check = 0.0
        self.last_result = created_at
        self.last_state_change = created_at
        self.last_hard_state_change = created_at
        self.last_ok = 0.0
        self.summary = "Waiting for the first result"
        self.long_output = ""
        self.flap_history = ""
        self.flap_changes = 0
        self.flapping = False
        self.percent_state_change = 0.0
        self.stale = False
        self.host_problem = False
        self.ack: Ack | None = None
        self.metrics: tuple[Metric, ...] = ()
        self.downtime_depth = 0
        # Set by the engine: the object's configuration and, for a service, its host's status.
        self.cfg: HostConfig | ServiceConfig | None = None
        self.host_status: Status | None = None

    @property
    def is_host(self) -> bool:
        return self.service == ""

    @property
    def is_problem(self) -> bool:
        return self.state != 0

    @property
    def state_type(self) -> str:
        return "hard" if self.hard else "soft"

    @property
    def in_downtime(self) -> bool:
        return self.downtime_depth > 0

    @property
    def acknowledged(self) -> bool:
        return self.ack is not None
