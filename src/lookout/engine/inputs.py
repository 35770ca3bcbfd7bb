"""Everything that changes a site's live state, as journaled (msgpack) inputs.

Each input carries the time it was accepted (``at``); replaying the journal applies the same
inputs at the same times, which is what makes the engine's state reproducible after a crash.
"""

from __future__ import annotations

import msgspec

from lookout.domain.results import CheckResult


class Target(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """What an action applies to: one host, one service, or hosts chosen by labels/group.
    With a filter, ``services`` extends the target to the matched hosts' services."""

    host: str | None = None
    service: str | None = None
    labels: dict[str, str] | None = None
    group: str | None = None
    services: bool = False

    def describe(self) -> str:
        if self.host is not None:
            return self.host if not self.service else f"{self.host}/{self.service}"
        parts = [f"{k}={v}" for k, v in (self.labels or {}).items()]
        if self.group:
            parts.append(f"group={self.group}")
        return "hosts with " + ", ".join(parts) if parts else "all hosts"


class Results(msgspec.Struct, frozen=True, tag="results", gc=False):
    at: float
    results: list[CheckResult]


class Acknowledge(msgspec.Struct, frozen=True, tag="ack", kw_only=True):
    at: float
    keys: list[tuple[str, str]]
    author: str
    comment: str
    sticky: bool = True
    notify: bool = True
    persistent: bool = False
    expire_at: float | None = None


class RemoveAcknowledgement(msgspec.Struct, frozen=True, tag="unack", kw_only=True):
    at: float
    keys: list[tuple[str, str]]
    author: str
    comment: str = ""


class ScheduleDowntime(msgspec.Struct, frozen=True, tag="downtime", kw_only=True):
    at: float
    targets: list[tuple[str, str]]
    start: float
    end: float
    fixed: bool = True
    duration: float = 0.0
    include_services: bool = False
    recurrence: str = ""
    author: str
    comment: str


class RemoveDowntime(msgspec.Struct, frozen=True, tag="undowntime", kw_only=True):
    at: float
    ids: list[int]
    author: str
    comment: str = ""


class AddComment(msgspec.Struct, frozen=True, tag="comment", kw_only=True):
    at: float
    keys: list[tuple[str, str]]
    author: str
    comment: str


class Recheck(msgspec.Struct, frozen=True, tag="recheck", kw_only=True):
    at: float
    keys: list[tuple[str, str]]
    author: str
    comment: str = ""


class Tick(msgspec.Struct, frozen=True, tag="tick"):
    """The clock moved: staleness, ack expiry, downtime start/end."""

    at: float


Input = (
    Results
    | Acknowledge
    | RemoveAcknowledgement
    | ScheduleDowntime
    | RemoveDowntime
    | AddComment
    | Recheck
    | Tick
)

_encoder = msgspec.msgpack.Encoder()
_decoder: msgspec.msgpack.Decoder[Input] = msgspec.msgpack.Decoder(Input)


def encode(inp: Input) -> bytes:
    return _encoder.encode(inp)


def decode(body: bytes) -> Input:
    return _decoder.decode(body)
