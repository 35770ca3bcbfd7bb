"""Everything that changes a site's live state, as journaled (msgpack) inputs.

Each input carries the time it was accepted (``at``); replaying the journal applies the same
inputs at the same times, which is what makes the engine's state reproducible after a crash.
"""

from __future__ import annotations

import msgspec

from lookout.domain import values
from lookout.domain.results import CheckResult
from lookout.domain.values import InvalidValue


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


class RemoveComment(msgspec.Struct, frozen=True, tag="uncomment", kw_only=True):
    at: float
    ids: list[int]
    author: str
    comment: str = ""


class Recheck(msgspec.Struct, frozen=True, tag="recheck", kw_only=True):
    at: float
    keys: list[tuple[str, str]]
    author: str
    comment: str = ""


class Tick(msgspec.Struct, frozen=True, tag="tick"):
    """The clock moved: staleness, ack expiry, downtime start/end."""

    at: float


class HandlerRan(msgspec.Struct, frozen=True, tag="handler", kw_only=True):
    """An event handler ran for ``host``/``service``: journaled so that its event (and what the
    handler printed) is in the log like any other."""

    at: float
    host: str
    service: str
    command: str
    state: int
    state_type: str
    attempt: int
    exit_code: int | None = None
    signal: int | None = None
    output: str = ""
    elapsed: float = 0.0
    error: str = ""


class Quarantine(msgspec.Struct, frozen=True, tag="quarantine", kw_only=True):
    """Something was set aside (a journal entry that could not be replayed, values a
    checkpoint had to repair): journaled so that its event survives like any other."""

    at: float
    source: str
    reason: str
    host: str = ""
    service: str = ""
    detail: str = ""


Input = (
    Results
    | Acknowledge
    | RemoveAcknowledgement
    | ScheduleDowntime
    | RemoveDowntime
    | AddComment
    | RemoveComment
    | Recheck
    | Tick
    | HandlerRan
    | Quarantine
)

_encoder = msgspec.msgpack.Encoder()
_decoder: msgspec.msgpack.Decoder[Input] = msgspec.msgpack.Decoder(Input)


def encode(inp: Input) -> bytes:
    return _encoder.encode(inp)


def decode(body: bytes) -> Input:
    return _decoder.decode(body)


def problem(item: Input) -> InvalidValue | None:
    """Why a journaled action cannot be applied safely (values an older version let through),
    or None. Results are not walked here (replay of big batches stays fast): values the
    engine takes from them are made storable by the checkpoint (``storage.repair``)."""
    try:
        values.check_time(item.at, ("at",))
        if isinstance(item, Results | Tick | Quarantine | HandlerRan):
            return None
        values.check_text(item.author, None, ("author",))
        values.check_text(item.comment, None, ("comment",))
        if isinstance(item, Acknowledge) and item.expire_at is not None:
            values.check_time(item.expire_at, ("expire_at",))
        if isinstance(item, ScheduleDowntime):
            values.check_time(item.start, ("start",))
            values.check_time(item.end, ("end",))
            values.check_duration(item.duration, ("duration",), allow_zero=True)
    except InvalidValue as exc:
        return exc
    return None


def describe(item: Input, limit: int = 2000) -> str:
    """A readable account of an input for the quarantine event (cut at ``limit``)."""
    text = repr(item)
    return text if len(text) <= limit else text[:limit] + " …(cut)"


def first_key(item: Input) -> tuple[str, str]:
    """The first object an input names, for the quarantine event's host and service."""
    if isinstance(item, Results) and item.results:
        return item.results[0].host, item.results[0].service
    keys = getattr(item, "keys", None) or getattr(item, "targets", None)
    if keys:
        host, service = keys[0]
        return host, service
    return "", ""
