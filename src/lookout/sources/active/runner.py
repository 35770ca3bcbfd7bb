"""Runners execute active-check jobs and always answer with a ``CheckResult``.

``EmbeddedRunner`` runs checks in this process; a NATS JetStream worker pool will implement
the same ``Runner`` protocol later.
"""

from __future__ import annotations

import asyncio
import time
import traceback
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Protocol

from lookout.checks.active import CheckContext, CommandExecutor, Outcome, SeriesOutcome
from lookout.checks.active.registry import ActiveCheckConfig, run_check
from lookout.domain.results import CheckResult

Execute = Callable[[ActiveCheckConfig, str, CheckContext], Awaitable[Outcome]]
"""How a runner executes one check (``run_check``, or a fake in tests)."""
OnSeries = Callable[[str, str, tuple[SeriesOutcome, ...]], None]
"""Told ``(host, service, series)`` when a service's check split its answer into series."""


@dataclass(frozen=True, slots=True)
class CheckJob:
    """One run of one service's active check against ``address``.

    ``scheduled_at`` is when the run was due (Unix seconds); the scheduler sets it.
    """

    host: str
    service: str
    config: ActiveCheckConfig
    address: str
    scheduled_at: float = 0.0


class Runner(Protocol):
    """Executes check jobs; ``run`` never raises (a failing check yields an UNKNOWN result)."""

    @property
    def concurrency(self) -> int:
        """How many jobs may run at the same time."""
        ...

    async def run(self, job: CheckJob) -> CheckResult:
        """Run ``job`` and return its result."""
        ...

    async def aclose(self) -> None:
        """Release connections and other resources."""
        ...


class EmbeddedRunner:
    """Runs checks in this process, at most ``concurrency`` at a time.

    A host's check (``service == ""``) answers UP or DOWN: see ``host_state``.

    A check gets ``config.timeout + grace`` seconds before the runner gives up on it.
    Without a ``context`` the runner creates (and closes in ``aclose``) its own HTTP clients.
    ``commands`` runs the site's command definitions (Nagios plugins); each check gets the
    context with its job's host and service filled in. ``on_series`` hears the series of
    checks that split their answer (PromQL ``per_series``).
    """

    def __init__(
        self,
        concurrency: int = 50,
        clock: Callable[[], float] = time.time,
        *,
        grace: float = 5.0,
        context: CheckContext | None = None,
        execute: Execute = run_check,
        commands: CommandExecutor | None = None,
        on_series: OnSeries | None = None,
    ) -> None:
        if concurrency < 1:
            raise ValueError(f"concurrency must be at least 1, got {concurrency}")
        self.concurrency = concurrency
        self._clock = clock
        self._grace = grace
        self._owns_context = context is None
        self._context = context or CheckContext.create(max_connections=concurrency)
        if commands is not None:
            self._context = replace(self._context, commands=commands)
        self._execute = execute
        self._on_series = on_series
        self._slots = asyncio.Semaphore(concurrency)

    async def run(self, job: CheckJob) -> CheckResult:
        """Run ``job``; crashes and overruns become UNKNOWN results, never exceptions."""
        async with self._slots:
            checked_at = self._clock()
            outcome = await self._outcome(job)
        if outcome.series is not None and job.service and self._on_series is not None:
            self._on_series(job.host, job.service, outcome.series)
        return CheckResult(
            host=job.host,
            service=job.service,
            state=outcome.state if job.service else host_state(outcome.state),
            summary=outcome.summary,
            long_output=outcome.long_output,
            metrics=outcome.metrics,
            checked_at=checked_at,
        )

    async def aclose(self) -> None:
        """Close the HTTP clients this runner created."""
        if self._owns_context:
            await self._context.aclose()

    async def _outcome(self, job: CheckJob) -> Outcome:
        limit = job.config.timeout + self._grace
        deadline = asyncio.timeout(limit)
        try:
            async with deadline:
                ctx = self._context.for_job(job.host, job.service)
                outcome = await self._execute(job.config, job.address, ctx)
        except TimeoutError as exc:
            if not deadline.expired():
                return crashed(exc)
            return Outcome(state=3, summary=f"Check timed out after {limit:g} s")
        except Exception as exc:
            return crashed(exc)
        return _checked(outcome)


def host_state(check_state: int) -> int:
    """A host's state from its check's: OK and WARNING are UP (0), CRITICAL and UNKNOWN
    DOWN (1), as Icinga 2 maps them. UNREACHABLE (2) is for parents, never a check's verdict."""
    return 0 if check_state in (0, 1) else 1


def crashed(exc: BaseException) -> Outcome:
    """The UNKNOWN outcome of a check that raised ``exc``, with its traceback."""
    details = "".join(traceback.format_exception(exc))
    summary = f"Check crashed: {type(exc).__name__}: {exc}"
    return Outcome(state=3, summary=summary, long_output=details)


def _checked(outcome: Outcome) -> Outcome:
    if isinstance(outcome, Outcome) and outcome.state in (0, 1, 2, 3):
        return outcome
    return Outcome(state=3, summary=f"Check returned an invalid outcome: {outcome!r}")
