"""Active checks: Lookout connects to the target itself (TCP, HTTP, ...).

Each check is a frozen pydantic params model plus ``async def run(params, address, ctx) ->
Outcome``. ``registry.py`` ties them together (``validate_check_config``, ``run_check``).
This module holds what every check shares: the outcome, the context and small helpers.
"""

from __future__ import annotations

import functools
import os
import socket
import ssl
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Protocol, Self

import httpx
import msgspec
from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from lookout.checks.active.http11 import Http11Client
from lookout.domain.commands import Execution
from lookout.domain.metrics import Metric

NAGIOS_LABELS = ("OK", "WARNING", "CRITICAL", "UNKNOWN")
"""How Nagios-style plugin output names the states 0..3."""

USER_AGENT = "lookout-check/0.1"


class SeriesOutcome(msgspec.Struct, frozen=True):
    """One series of a check that reports many (a PromQL vector), for its own service."""

    labels: tuple[tuple[str, str], ...]
    state: int
    summary: str
    metrics: tuple[Metric, ...] = ()


class Outcome(msgspec.Struct, frozen=True):
    """What one run of an active check found: state 0..3, summary, details, metrics.
    ``series``: one outcome per series when the check splits its answer into services."""

    state: int
    summary: str
    long_output: str = ""
    metrics: tuple[Metric, ...] = ()
    series: tuple[SeriesOutcome, ...] | None = None


@functools.cache
def verifying_tls() -> ssl.SSLContext:
    """The verifying TLS context of the checks' HTTP clients (certifi's CAs), made once per
    process: loading the CAs costs ~2 MiB, which the site manager's supervisor pays once
    before it forks its sites instead of each site paying it."""
    return httpx.create_ssl_context(verify=True, trust_env=False)


def _new_client(*, verify: bool, max_connections: int) -> httpx.AsyncClient:
    """A client that opens a fresh connection per check (keep-alive would hide connect time)."""
    limits = httpx.Limits(max_connections=max_connections, max_keepalive_connections=0)
    headers = {"User-Agent": USER_AGENT}
    tls = verifying_tls() if verify else False
    return httpx.AsyncClient(verify=tls, limits=limits, headers=headers, trust_env=False)


class CommandExecutor(Protocol):
    """Runs the site's command definitions (``sources.active.plugins.CommandRunner``)."""

    @property
    def enabled(self) -> bool:
        """The site's execution switch: false means nothing is ever spawned."""
        ...

    async def run_command(
        self, name: str, macros: Mapping[str, str], time_limit: float
    ) -> Execution:
        """Run command ``name`` with ``macros`` (``HOSTNAME``, ``ARG1``, … without ``$``)."""
        ...


@dataclass(frozen=True, slots=True)
class CheckContext:
    """What a check gets besides its params: shared HTTP clients, a timer and a clock.

    The ``http`` check uses ``web``; the others that speak HTTP use httpx, which decides TLS
    verification per client, so there is one verifying client and one that does not verify
    (for ``verify_tls: false``). ``timer`` measures durations (seconds); ``clock`` tells the
    time of day (Unix seconds), e.g. for certificate expiry.
    """

    http: httpx.AsyncClient
    http_insecure: httpx.AsyncClient
    web: Http11Client = field(default_factory=lambda: Http11Client(user_agent=USER_AGENT))
    """The lean HTTP/1.1 client of the ``http`` check (keep-alive, TLS either way)."""
    timer: Callable[[], float] = field(default=time.perf_counter)
    clock: Callable[[], float] = field(default=time.time)
    commands: CommandExecutor | None = None
    """Runs command definitions (Nagios plugins); None where programs cannot run."""
    host: str = ""
    """The host of the job being run (the runner sets it per job)."""
    service: str = ""
    """The service of the job being run ('' for a host check)."""

    @classmethod
    def create(cls, max_connections: int = 100) -> Self:
        """A context with its own two HTTP clients; close it with ``aclose``."""
        return cls(
            http=_new_client(verify=True, max_connections=max_connections),
            http_insecure=_new_client(verify=False, max_connections=max_connections),
            web=Http11Client(user_agent=USER_AGENT, max_idle=max_connections),
        )

    def for_job(self, host: str, service: str) -> CheckContext:
        """This context with the job's ``host`` and ``service`` (what ``dataclasses.replace``
        does, without its per-call look-up of the fields: it runs once per check)."""
        return CheckContext(
            http=self.http,
            http_insecure=self.http_insecure,
            web=self.web,
            timer=self.timer,
            clock=self.clock,
            commands=self.commands,
            host=host,
            service=service,
        )

    def client(self, verify_tls: bool) -> httpx.AsyncClient:
        """The HTTP client to use for a check with this ``verify_tls`` setting."""
        return self.http if verify_tls else self.http_insecure

    async def aclose(self) -> None:
        """Close the HTTP clients."""
        await self.http.aclose()
        await self.http_insecure.aclose()
        await self.web.aclose()


class ActiveParams(BaseModel):
    """Settings every active check has: a timeout and response time thresholds."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    timeout: float = Field(
        10.0, gt=0, le=300, description="Give up after this many seconds; the check goes CRIT."
    )
    warn: float | None = Field(
        None, ge=0, description="Response time in seconds from which the check is WARN."
    )
    crit: float | None = Field(
        None, ge=0, description="Response time in seconds from which the check is CRIT."
    )

    @field_validator("crit")
    @classmethod
    def _crit_not_below_warn(cls, crit: float | None, info: ValidationInfo) -> float | None:
        warn = info.data.get("warn")
        if crit is not None and warn is not None and crit < warn:
            raise ValueError(f"crit ({crit} s) must not be below warn ({warn} s)")
        return crit


def time_state(seconds: float, params: ActiveParams) -> tuple[int, str]:
    """State of a response time against ``warn``/``crit``, and a note naming the levels."""
    state = 0
    if params.crit is not None and seconds >= params.crit:
        state = 2
    elif params.warn is not None and seconds >= params.warn:
        state = 1
    return state, (_levels_note(params) if state else "")


def _levels_note(params: ActiveParams) -> str:
    levels = (("warn", params.warn), ("crit", params.crit))
    given = [(name, value) for name, value in levels if value is not None]
    names = "/".join(name for name, _ in given)
    values = "/".join(f"{value:.3f}" for _, value in given)
    return f" ({names} at {values} s)"


def time_metric(seconds: float, params: ActiveParams) -> Metric:
    """The ``time`` metric (seconds) with the thresholds of ``params``."""
    return Metric("time", seconds, "s", warn=params.warn, crit=params.crit, min=0.0)


def label(state: int) -> str:
    """Nagios name of a state (``2`` → ``CRITICAL``)."""
    return NAGIOS_LABELS[state] if 0 <= state < len(NAGIOS_LABELS) else "UNKNOWN"


def describe_error(exc: BaseException) -> str:
    """A short human reason for a network error, looking through wrapped causes."""
    chain = list(_causes(exc))
    for cause in chain:
        if isinstance(cause, ssl.SSLError):
            return f"TLS error: {_describe_tls(cause)}"
    for cause in reversed(chain):
        if isinstance(cause, socket.gaierror):
            return f"Name resolution failed: {cause.strerror}"
        if isinstance(cause, OSError) and cause.errno:
            return os.strerror(cause.errno)
    return str(exc) or type(exc).__name__


def _causes(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _describe_tls(exc: ssl.SSLError) -> str:
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"certificate verify failed: {exc.verify_message}"
    reason = getattr(exc, "reason", None)
    return reason.replace("_", " ").lower() if isinstance(reason, str) else str(exc)
