"""What the site and its workers send each other over NATS, as msgpack (msgspec).

A :class:`Job` is the same content the embedded runner runs (a
:class:`~lookout.sources.active.runner.CheckJob`: host, service, address, check config, when
it was due) plus its id, the site, the pool and a deadline; for a Nagios check it also carries
the command definition, since a worker has no database. A :class:`Result` is the runner's
:class:`~lookout.domain.results.CheckResult` for one job. A worker sends its results in
batches: one message holds a msgpack array of results (:func:`encode_batch`) or, as before,
one result alone; the site takes either (:func:`decode_results`).
"""

from __future__ import annotations

import functools
from typing import Any

import msgspec

from lookout.checks.active.registry import ActiveCheckConfig, validate_check_config
from lookout.domain.results import CheckResult

WIRE_VERSION = 1
"""Bumped when a field changes meaning; a worker refuses jobs of another version."""


class Job(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """One run of one check, for any worker of ``pool``."""

    id: str
    """Unique per run; the result's ``Nats-Msg-Id`` (a second copy is dropped)."""
    site: str
    pool: str
    host: str
    service: str
    """'' for a host's own check."""
    address: str
    check: dict[str, Any]
    """The check config as the site validated it (``{"type": "tcp", "port": 22, ...}``)."""
    command: tuple[str, str] | None = None
    """A Nagios check's command definition: (name, command line)."""
    scheduled_at: float
    """When the run was due (site clock, Unix seconds)."""
    issued_at: float
    """When the site handed it to the pool (site clock)."""
    deadline: float
    """The site answers a job no worker has taken by then UNKNOWN "no worker for pool P"."""
    give_up: float = 0.0
    """The site waits for the result of a taken job until then (0: until ``deadline``); a
    worker that takes the job later drops it: the site has answered it UNKNOWN by then."""
    version: int = WIRE_VERSION


class Result(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """The result of job ``job``, run by ``worker``."""

    job: str
    issued_at: float
    """The job's ``issued_at``: a result older than what the site has is a late copy."""
    worker: str
    result: CheckResult
    version: int = WIRE_VERSION


class Heartbeat(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """A worker says it is alive, every few seconds (``stopping`` when it leaves)."""

    worker: str
    pool: str
    machine: str
    pid: int
    started_at: float
    at: float
    concurrency: int
    running: int = 0
    """Jobs it runs right now."""
    done: int = 0
    """Results it published since it started."""
    dropped: int = 0
    """Jobs it dropped since it started (taken after their deadline)."""
    stopping: bool = False


@functools.lru_cache(maxsize=4096)
def check_payload(config: ActiveCheckConfig) -> dict[str, Any]:
    """A check config as the job carries it: the fields that were given (defaults and
    derived values left out, as some fields exclude others) and its type.

    Cached (configs are frozen and many services share one): a job is made per run. Equal
    configs given with different fields validate to equal configs, so either payload does.
    Callers must not change the dict."""
    return {"type": config.type, **config.model_dump(mode="json", exclude_unset=True)}


@functools.lru_cache(maxsize=4096)
def _validated(payload: bytes) -> ActiveCheckConfig:
    return validate_check_config(_check.decode(payload))


def check_config(payload: dict[str, Any]) -> ActiveCheckConfig:
    """The check config a job carries, validated as the site validates it (pydantic's
    ``ValidationError`` when it is not valid); cached by the payload's bytes, as a worker
    sees the same configs at every interval."""
    return _validated(_encoder.encode(payload))


_encoder = msgspec.msgpack.Encoder()
_job = msgspec.msgpack.Decoder(Job)
_results = msgspec.msgpack.Decoder(list[Result] | Result)
_heartbeat = msgspec.msgpack.Decoder(Heartbeat)
_check = msgspec.msgpack.Decoder(dict[str, Any])


def encode(message: Job | Result | Heartbeat) -> bytes:
    return _encoder.encode(message)


def decode_job(data: bytes) -> Job:
    """A job (``msgspec.DecodeError`` or ``ValidationError`` when it is not one)."""
    return _job.decode(data)


def encode_batch(encoded: list[bytes]) -> bytes:
    """One message of results already encoded one by one (:func:`encode`): a msgpack array."""
    return _encoder.encode([msgspec.Raw(one) for one in encoded])


def decode_results(data: bytes) -> list[Result]:
    """The results of one message: a batch, or a single result (``msgspec.DecodeError`` or
    ``ValidationError`` when it is neither)."""
    out = _results.decode(data)
    return out if isinstance(out, list) else [out]


def decode_heartbeat(data: bytes) -> Heartbeat:
    return _heartbeat.decode(data)
