"""``NatsRunner``: the site's side of worker pools, behind the scheduler's ``Runner`` protocol.

``run(job)`` publishes the job on ``lookout.<site>.jobs.<pool>`` (JetStream acknowledges it is
stored) and waits for its result. Results come from the site's durable consumer on the result
stream, several per message (a worker's batch); each fetch of them is handed to the site's
journaled apply path (``hooks.apply``) and only once that is durable are the messages
acknowledged and the waiting runs answered. So the
runner, not the scheduler, hands its results to the engine: the scheduler's ``submit`` is
:func:`journaled_already`.

A result that arrives while no run waits for it (the site restarted since it sent the job, or
a second copy after a redelivery) is applied when it is newer than everything the engine has
for its object (its job was issued after the object's last result) and dropped otherwise: a
result that arrives twice changes state once, across restarts too.

The job's deadline is one check interval after it was issued. A job no worker has taken by
then (the pool's consumer has not delivered it) answers UNKNOWN "no worker for pool P" and is
deleted from the stream; a job taken but not answered within its check's timeout (plus grace)
after the deadline (its ``give_up``) answers UNKNOWN too. Workers drop jobs taken after
``give_up``: the site has answered them by then.

"Not taken" is a verdict only on a steady view (:mod:`.steadiness`: no failed read, leader
change or delivered sequence going back for a few seconds), confirmed by a second read and by
the job's own message still waiting in the stream; until then, and at most until ``give_up``,
the site looks again. A JetStream leader election or a stalled machine must not pass for
a pool without workers.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import heapq
import itertools
import logging
import secrets
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Protocol

import nats.errors
import nats.js.errors
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js import JetStreamContext

from lookout.domain import values
from lookout.domain.results import CheckResult
from lookout.sources.active.runner import CheckJob, host_state
from lookout.sources.workers import wire
from lookout.sources.workers.connection import NatsAccess, Quiet, connect, describe
from lookout.sources.workers.steadiness import ConsumerView, Steadiness
from lookout.sources.workers.storing import Storer
from lookout.sources.workers.streams import (
    RESULTS_CONSUMER,
    Layout,
    StreamOptions,
    ensure_pool,
    ensure_streams,
)

log = logging.getLogger(__name__)

FETCH_BATCH = 512
GATHER = 0.005
"""Seconds to let results gather after a fetch that found fewer than a batch."""
TRANSIT = 2.0
"""Seconds a result may take from a worker to the site, on top of the check's own limit."""
RETRY = 0.5
"""Seconds between tries while NATS does not answer."""
PUBLISH_TIMEOUT = 1.0
"""Seconds to wait for JetStream to store a job before trying again (same message id: a
job stored twice is stored once); short, so that a server lost in a cluster costs little."""
SETTLE = 5.0
"""Seconds a pool consumer's view must stay steady before it may say a job was not taken
(a leader election with workers reconnecting takes a few seconds on a loaded machine)."""
LOOK_AGAIN = 0.5
"""Seconds between looks at a job whose deadline passed while the view is not conclusive."""
STALL = 2.0
"""Seconds the sweep may wake up late before the site counts as stalled (views start again)."""


class PoolHooks(Protocol):
    """What the runner needs from its site."""

    def pool_for(self, job: CheckJob) -> str:
        """The pool that runs ``job`` (``ValueError`` naming a label that is not a pool)."""
        ...

    def interval_for(self, host: str, service: str) -> float | None:
        """The object's check interval now (the retry interval while a problem is soft)."""
        ...

    def last_result(self, host: str, service: str) -> float | None:
        """When the engine last took a result for the object (None: no such object)."""
        ...

    def command_line(self, name: str) -> str | None:
        """The command line of command definition ``name``."""
        ...

    def apply(self, result: CheckResult) -> Awaitable[None]:
        """Hand ``result`` to the engine; resolves once it is journaled."""
        ...


async def journaled_already(result: CheckResult) -> None:
    """The scheduler's ``submit`` with a :class:`NatsRunner`: its results are journaled
    before ``run`` returns them."""


@dataclass(slots=True, eq=False)
class _Waiting:
    """A run waiting for its result."""

    job: CheckJob
    id: str
    issued_at: float
    deadline: float
    give_up: float
    future: asyncio.Future[CheckResult]
    pool: str = ""
    seq: int = 0
    """The job's sequence in the job stream (0 while it is being published)."""
    taken: bool = False
    doubted: bool = False
    """A steady view said it was not taken: the next look decides."""
    settled: bool = False
    """Its result (or its UNKNOWN) is on the way into the engine: nothing else may settle."""


@dataclass(frozen=True, slots=True)
class WorkerInfo:
    worker: str
    pool: str
    machine: str
    pid: int
    concurrency: int
    running: int
    done: int
    dropped: int
    started_at: float
    last_seen: float


@dataclass(frozen=True, slots=True)
class PoolInfo:
    """A pool as the site sees it: workers alive, jobs queued, how old the oldest is."""

    pool: str
    workers: list[WorkerInfo]
    waiting: int | None
    """Jobs no worker has taken yet (None: NATS did not say)."""
    running: int | None
    """Jobs taken and not acknowledged yet."""
    oldest_job_age: float | None
    """Seconds the oldest job in the stream has waited (None: no job)."""
    in_flight: int
    """Runs of this site waiting for a result from the pool."""
    latency_p99: float | None
    """Seconds from due to journaled result, 99th percentile of the recent results."""
    error: str = ""


@dataclass(slots=True)
class Counters:
    jobs: int = 0
    """Jobs handed to pools."""
    results: int = 0
    """Results journaled (answers to runs and results from before a restart)."""
    duplicates: int = 0
    """Results dropped: a copy of one the engine had, or older than what it has."""
    no_worker: int = 0
    """Runs answered UNKNOWN: no worker took the job, or none answered in time."""


LATENCY_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
"""Upper bounds (seconds) of the due-to-journaled latency histogram (``/metrics``)."""


@dataclass(slots=True)
class _Pool:
    ready: asyncio.Future[None] | None = None
    latencies: deque[float] = field(default_factory=lambda: deque(maxlen=2000))
    buckets: list[int] = field(default_factory=lambda: [0] * (len(LATENCY_BUCKETS) + 1))
    """Results per latency bucket (not cumulative; the last one is above every bound)."""
    latency_sum: float = 0.0

    def took(self, latency: float) -> None:
        self.latencies.append(latency)
        self.buckets[bisect.bisect_left(LATENCY_BUCKETS, latency)] += 1
        self.latency_sum += latency


class NatsRunner:
    """Runs check jobs on worker pools over NATS JetStream (see the module)."""

    def __init__(
        self,
        access: NatsAccess,
        site: str,
        hooks: PoolHooks,
        *,
        options: StreamOptions | None = None,
        max_in_flight: int = 20_000,
        worker_timeout: float = 15.0,
        pools: Iterable[str] = ("default",),
        clock: Callable[[], float] = time.time,
        grace: float = 5.0,
        sweep_interval: float = 0.5,
        stats_interval: float = 5.0,
        settle: float = SETTLE,
    ) -> None:
        self.concurrency = max_in_flight
        self.access = access
        self.layout = Layout(site)
        self.counters = Counters()
        self._hooks = hooks
        self._options = options or StreamOptions()
        self._worker_timeout = worker_timeout
        self._clock = clock
        self._grace = grace
        self._sweep_interval = sweep_interval
        self._stats_interval = stats_interval
        self._pools: dict[str, _Pool] = {name: _Pool() for name in ("default", *pools)}
        self._waiting: dict[str, _Waiting] = {}
        self._nonce = secrets.token_hex(8) + "-"
        """Job ids are this (new at every start) and a counter: unique without a syscall."""
        self._ids = itertools.count()
        self._deadlines: list[tuple[float, str]] = []
        self._steadiness = Steadiness(settle)
        self._workers: dict[str, tuple[wire.Heartbeat, float]] = {}
        self._nc: Client | None = None
        self._js: JetStreamContext | None = None
        self._storer: Storer | None = None
        self._ready = asyncio.Event()
        self._quiet = Quiet()
        self._tasks: list[asyncio.Task[None]] = []
        self.error = "not connected yet"
        """Why the runner cannot reach NATS ('' while it can)."""
        self.last_pools: list[PoolInfo] = []
        """What :meth:`pools` said last (refreshed every ``stats_interval``; for /metrics)."""

    # ------------------------------------------------------------------ life cycle
    async def start(self) -> None:
        """Connect in the background (runs wait for it, up to their deadline)."""
        self._tasks.append(asyncio.create_task(self._connect_loop(), name="nats-runner"))

    async def wait_ready(self) -> None:
        """Until the runner is connected and its streams exist."""
        await self._ready.wait()

    async def aclose(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        if self._nc is not None:
            with contextlib.suppress(Exception):
                await self._nc.close()
            self._nc = self._js = self._storer = None

    async def _connect_loop(self) -> None:
        while True:
            try:
                self._nc = await connect(
                    self.access, f"lookout site {self.layout.site}", report=self._note
                )
                self._js = self._nc.jetstream()
                storer = Storer(self._nc)
                await storer.start()
                self._storer = storer
                await ensure_streams(self._js, self.layout, self._options)
                for name in self._pools:
                    await self._pool_ready(name)
                await self._nc.subscribe(self.layout.heartbeats, cb=self._heartbeat)
                break
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self._unready(exc)
                if self._nc is not None:
                    with contextlib.suppress(Exception):
                        await self._nc.close()
                self._nc = self._js = self._storer = None
                await asyncio.sleep(2.0)
        log.info("worker pools: connected to NATS at %s", self.access.shown())
        self.error = ""
        self._ready.set()
        self._tasks.append(asyncio.create_task(self._sweep_loop(), name="nats-runner sweep"))
        await self._result_loop()

    def _unready(self, exc: BaseException) -> None:
        self._note(describe(exc))

    def _note(self, problem: str) -> None:
        self.error = f"NATS at {self.access.shown()}: {problem}"
        if self._quiet.fresh(self.error):
            log.error("worker pools: %s", self.error)

    # ------------------------------------------------------------------ runs
    async def run(self, job: CheckJob) -> CheckResult:
        """Hand ``job`` to its pool; the result once it is journaled (never raises)."""
        now = self._clock()
        interval = self._hooks.interval_for(job.host, job.service) or job.config.timeout
        w = _Waiting(
            job=job,
            id=f"{self._nonce}{next(self._ids):x}",
            issued_at=now,
            deadline=now + interval,
            give_up=now + interval + job.config.timeout + self._grace + TRANSIT,
            future=asyncio.get_running_loop().create_future(),
        )
        try:
            w.pool = self._hooks.pool_for(job)
        except ValueError as exc:
            return await self._settle_unknown(w, str(exc))
        self._waiting[w.id] = w
        heapq.heappush(self._deadlines, (w.deadline, w.id))
        try:
            error = await self._publish(w)
            if error:
                await self._settle_unknown(w, f"cannot hand the check to pool {w.pool}: {error}")
            return await w.future
        finally:
            self._waiting.pop(w.id, None)

    async def _publish(self, w: _Waiting) -> str:
        """Publish ``w``'s job until JetStream has it, or its deadline passes ('' or why)."""
        body = wire.encode(self._job(w))
        subject = self.layout.jobs_subject(w.pool)
        while not w.settled:
            remaining = w.deadline - self._clock()
            if remaining <= 0:
                return self.error or "NATS did not take it in time"
            if self._storer is None:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(remaining):
                        await self._ready.wait()
                continue
            try:
                await self._pool_ready(w.pool)
                seq = await self._storer.store(
                    subject, body, w.id, within=min(PUBLISH_TIMEOUT, remaining)
                )
            except (nats.errors.Error, OSError, TimeoutError) as exc:
                self._unready(exc)
                await asyncio.sleep(min(RETRY, max(0.0, w.deadline - self._clock())))
                continue
            self.error = ""
            w.seq = seq
            self.counters.jobs += 1
            return ""
        return ""

    def _job(self, w: _Waiting) -> wire.Job:
        job = w.job
        command = None
        name = getattr(job.config, "command", None)
        if job.config.type == "nagios" and isinstance(name, str):
            line = self._hooks.command_line(name)
            command = (name, line) if line is not None else None
        return wire.Job(
            id=w.id,
            site=self.layout.site,
            pool=w.pool,
            host=job.host,
            service=job.service,
            address=job.address,
            check=wire.check_payload(job.config),
            command=command,
            scheduled_at=job.scheduled_at,
            issued_at=w.issued_at,
            deadline=w.deadline,
            give_up=w.give_up,
        )

    async def _pool_ready(self, pool: str) -> None:
        """The pool's consumer exists (made once per pool and connection)."""
        state = self._pools.setdefault(pool, _Pool())
        ready = state.ready
        if ready is not None and ready.done() and not ready.cancelled() and not ready.exception():
            return  # the common case: no shield, no future per job
        if state.ready is None or (state.ready.done() and state.ready.exception()):
            assert self._js is not None
            state.ready = asyncio.ensure_future(
                ensure_pool(self._js, self.layout, pool, self._options)
            )
        await asyncio.shield(state.ready)

    async def _settle_unknown(self, w: _Waiting, summary: str) -> CheckResult:
        """Answer ``w`` with UNKNOWN ``summary`` (journaled first), unless a result came."""
        if w.settled:
            return await w.future
        w.settled = True
        job = w.job
        state = 3 if job.service else host_state(3)
        result = CheckResult(
            job.host, job.service, state, summary[: values.MAX_SUMMARY], checked_at=self._clock()
        )
        try:
            await self._hooks.apply(result)
        except Exception:
            log.exception("the UNKNOWN of %s/%s could not be journaled", job.host, job.service)
        if not w.future.done():
            w.future.set_result(result)
        return result

    # ------------------------------------------------------------------ results
    async def _result_loop(self) -> None:
        assert self._js is not None
        while True:
            try:
                sub = await self._js.pull_subscribe_bind(
                    RESULTS_CONSUMER, self.layout.results_stream
                )
                break
            except (nats.errors.Error, OSError) as exc:
                self._unready(exc)
                await asyncio.sleep(RETRY)
        while True:
            try:
                msgs = await sub.fetch(FETCH_BATCH, timeout=1.0)
            except TimeoutError:  # nats.errors.TimeoutError too
                continue
            except (nats.errors.Error, OSError) as exc:
                self._unready(exc)
                await asyncio.sleep(RETRY)
                continue
            try:
                await self.take(msgs)
            except Exception:  # the loop must go on; unacknowledged results come again
                log.exception("worker results could not be taken")
                await asyncio.sleep(RETRY)
            if len(msgs) < FETCH_BATCH:  # few waiting: let results gather (one fetch, many)
                await asyncio.sleep(GATHER)

    async def take(self, msgs: list[Msg]) -> None:
        """Journal the new results in ``msgs`` (each a worker's batch, or one result), then
        acknowledge every message whose results are all journaled (the others come again)
        and answer the runs waiting for them."""
        take: list[tuple[int, wire.Result, _Waiting | None]] = []
        taken: list[Msg | None] = list(msgs)
        drops = 0
        seen: set[str] = set()
        for i, msg in enumerate(msgs):
            try:
                results = wire.decode_results(msg.data)
            except Exception as exc:
                log.error("a message on %s is not a result, dropped: %s", msg.subject, exc)
                await msg.term()
                taken[i] = None
                continue
            for r in results:
                w = self._waiting.get(r.job)
                if r.job in seen or not self._new(r, w):
                    drops += 1
                    continue
                seen.add(r.job)
                if w is not None:
                    w.settled = True
                take.append((i, _checked(r), w))
        done = await asyncio.gather(
            *(self._hooks.apply(r.result) for _, r, _ in take), return_exceptions=True
        )
        now = self._clock()
        failed: set[int] = set()
        for (i, r, w), outcome in zip(take, done, strict=True):
            if isinstance(outcome, BaseException):
                log.error("a worker result was not journaled, it comes again: %s", outcome)
                if w is not None:
                    w.settled = False
                failed.add(i)
                continue
            self.counters.results += 1
            if w is not None:
                self._pools.setdefault(w.pool, _Pool()).took(now - w.job.scheduled_at)
                if not w.future.done():
                    w.future.set_result(r.result)
        self.counters.duplicates += drops
        for i, kept in enumerate(taken):
            if kept is None:
                continue
            if i in failed:  # its journaled results are dropped as old when it comes again
                await kept.nak(delay=5)
            else:
                await kept.ack()

    def _new(self, r: wire.Result, w: _Waiting | None) -> bool:
        """Whether ``r`` should go to the engine: a run waits for it, or (after a restart) it
        is newer than what the engine has for its object."""
        if w is not None:
            return not w.settled and (r.result.host, r.result.service) == (
                w.job.host,
                w.job.service,
            )
        last = self._hooks.last_result(r.result.host, r.result.service)
        return last is not None and r.issued_at > last

    # ------------------------------------------------------------------ deadlines
    async def _sweep_loop(self) -> None:
        stats_due = 0.0
        while True:
            slept = time.monotonic()
            await asyncio.sleep(self._sweep_interval)
            if time.monotonic() - slept - self._sweep_interval > STALL:
                self._steadiness.shaken(self._clock())
            try:
                await self.sweep()
                if time.monotonic() >= stats_due:
                    stats_due = time.monotonic() + self._stats_interval
                    await self.pools()
            except Exception:
                log.exception("worker pools: deadline sweep failed")

    async def sweep(self) -> None:
        """Answer the runs whose deadline passed: UNKNOWN when no worker took their job (and
        the job goes), or when the worker that took it did not answer in time."""
        now = self._clock()
        due: dict[str, list[_Waiting]] = {}
        later: list[tuple[float, str]] = []
        while self._deadlines and self._deadlines[0][0] <= now:
            _, job_id = heapq.heappop(self._deadlines)
            w = self._waiting.get(job_id)
            if w is None or w.settled:
                continue
            if w.seq:
                due.setdefault(w.pool, []).append(w)
            else:  # still being published: the publisher gives up at the deadline itself
                later.append((now + 1.0, job_id))
        for item in later:
            heapq.heappush(self._deadlines, item)
        for pool, ws in due.items():
            await self._overdue(pool, ws, now)

    async def _overdue(self, pool: str, ws: list[_Waiting], now: float) -> None:
        view = await self._view(pool)
        steady = self._steadiness.saw(pool, view, now)
        settle: list[tuple[_Waiting, str]] = []
        candidates: list[_Waiting] = []
        for w in ws:
            if w.taken:
                limit = w.give_up - w.issued_at
                why = f"took the check but sent no result within {limit:.0f} s"
                settle.append((w, f"a worker of pool {pool} {why}"))
            elif view is not None and w.seq <= view.delivered:
                self._taken(w)
            elif now >= w.give_up and view is None:
                settle.append((w, f"no answer from pool {pool}: {self.error}"))
            elif now >= w.give_up:  # looked long enough: decide on this view
                candidates.append(w)
            elif not steady or not w.doubted:  # NATS did not say, or not for sure: look again
                w.doubted = steady
                heapq.heappush(self._deadlines, (now + LOOK_AGAIN, w.id))
                if not steady and self._quiet.fresh(f"unsteady {pool}"):
                    log.info("pool %s: its consumer's state is not steady yet (%s)", pool, view)
            else:
                candidates.append(w)
        gone: list[int] = []
        queued = await self._queued([w.seq for w in candidates])
        for w in candidates:
            if queued.get(w.seq) is False:  # acknowledged: a worker took it, its result comes
                self._taken(w)
            elif queued.get(w.seq) is None and now < w.give_up:
                heapq.heappush(self._deadlines, (now + LOOK_AGAIN, w.id))
            else:
                settle.append((w, self._no_worker(pool, w, view)))
                gone.append(w.seq)
        self.counters.no_worker += len(settle)
        await asyncio.gather(*(self._settle_unknown(w, why) for w, why in settle))
        if gone and self._js is not None:
            js, stream = self._js, self.layout.jobs_stream
            await asyncio.gather(*(js.delete_msg(stream, s) for s in gone), return_exceptions=True)

    def _taken(self, w: _Waiting) -> None:
        """A worker has ``w``'s job: wait for the check's own time limit."""
        w.taken = True
        heapq.heappush(self._deadlines, (w.give_up, w.id))

    def _no_worker(self, pool: str, w: _Waiting, view: ConsumerView | None) -> str:
        alive = len(self.workers(pool))
        if not alive:
            return f"no worker for pool {pool}"
        queued = f", {view.waiting} jobs waiting" if view is not None else ""
        took = w.deadline - w.issued_at
        return (
            f"no worker for pool {pool} took the check within {took:g} s "
            f"({alive} workers alive{queued})"
        )

    async def _view(self, pool: str) -> ConsumerView | None:
        """The pool consumer's state now (None when NATS cannot say)."""
        if self._js is None:
            return None
        try:
            info = await self._js.consumer_info(
                self.layout.jobs_stream, self.layout.pool_consumer(pool), timeout=2.0
            )
        except (nats.errors.Error, OSError, TimeoutError) as exc:
            self._unready(exc)
            return None
        leader = info.cluster.leader if info.cluster is not None else None
        return ConsumerView(info.delivered.stream_seq or 0, info.num_pending or 0, leader or "")

    async def _queued(self, seqs: list[int]) -> dict[int, bool | None]:
        """Per job sequence: whether its message still waits in the job stream (False: it
        was acknowledged; None: NATS did not say)."""
        if not seqs:
            return {}
        if self._js is None:
            return dict.fromkeys(seqs)
        js, stream = self._js, self.layout.jobs_stream

        async def one(seq: int) -> bool | None:
            try:
                await js.get_msg(stream, seq)
            except nats.js.errors.NotFoundError:
                return False
            except (nats.errors.Error, OSError, TimeoutError):
                return None
            return True

        return dict(zip(seqs, await asyncio.gather(*(one(s) for s in seqs)), strict=True))

    # ------------------------------------------------------------------ pools and workers
    async def _heartbeat(self, msg: Msg) -> None:
        try:
            hb = wire.decode_heartbeat(msg.data)
        except Exception as exc:
            log.warning("a message on %s is not a heartbeat: %s", msg.subject, exc)
            return
        if hb.stopping:
            self._workers.pop(hb.worker, None)
            return
        self._workers[hb.worker] = (hb, self._clock())
        self._pools.setdefault(hb.pool, _Pool())

    def workers(self, pool: str) -> list[WorkerInfo]:
        """The pool's workers heard from within ``worker_timeout``."""
        now = self._clock()
        out = []
        for hb, seen in list(self._workers.values()):
            if now - seen > self._worker_timeout:
                if now - seen > 10 * self._worker_timeout:
                    self._workers.pop(hb.worker, None)
                continue
            if hb.pool == pool:
                out.append(_worker_info(hb, seen))
        return sorted(out, key=lambda i: i.worker)

    def latency_histograms(self) -> dict[str, tuple[list[int], float]]:
        """Per pool: results per latency bucket (:data:`LATENCY_BUCKETS`, then above) and
        the sum of their latencies in seconds."""
        return {name: (list(p.buckets), p.latency_sum) for name, p in self._pools.items()}

    async def pools(self) -> list[PoolInfo]:
        """Every pool this site knows (settings, labels used, workers heard)."""
        self.last_pools = [await self._pool_info(name) for name in sorted(self._pools)]
        return self.last_pools

    async def _pool_info(self, pool: str) -> PoolInfo:
        in_flight = sum(1 for w in self._waiting.values() if w.pool == pool)
        waiting = running = None
        oldest = None
        error = self.error
        if self._js is not None:
            try:
                info = await self._js.consumer_info(
                    self.layout.jobs_stream, self.layout.pool_consumer(pool), timeout=2.0
                )
                waiting, running = info.num_pending, info.num_ack_pending
                oldest = await self._oldest(pool)
            except nats.js.errors.NotFoundError:
                waiting, running = 0, 0
            except (nats.errors.Error, OSError, TimeoutError) as exc:
                error = describe(exc)
        return PoolInfo(
            pool=pool,
            workers=self.workers(pool),
            waiting=waiting,
            running=running,
            oldest_job_age=oldest,
            in_flight=in_flight,
            latency_p99=_p99(self._pools[pool].latencies),
            error=error,
        )

    async def _oldest(self, pool: str) -> float | None:
        assert self._js is not None
        try:
            msg = await self._js.get_msg(
                self.layout.jobs_stream, seq=1, subject=self.layout.jobs_subject(pool), next=True
            )
        except nats.js.errors.NotFoundError:
            return None
        if msg.time is None:
            return None
        return max(0.0, self._clock() - msg.time.timestamp())


def _checked(r: wire.Result) -> wire.Result:
    """``r``, or ``r`` with an UNKNOWN result when the worker's result cannot be taken."""
    res = r.result
    top = 3 if res.service else 2
    try:
        if not 0 <= res.state <= top:
            raise values.InvalidValue(f"state {res.state} is not 0..{top}", ("state",))
        values.check_metrics(res.metrics, ("metrics",))
    except values.InvalidValue as exc:
        summary = f"the worker {r.worker} sent a result that cannot be taken: {exc}"
        bad = CheckResult(res.host, res.service, 3 if res.service else 1, summary[:1000])
        return wire.Result(job=r.job, issued_at=r.issued_at, worker=r.worker, result=bad)
    return r


def _worker_info(hb: wire.Heartbeat, seen: float) -> WorkerInfo:
    return WorkerInfo(
        worker=hb.worker,
        pool=hb.pool,
        machine=hb.machine,
        pid=hb.pid,
        concurrency=hb.concurrency,
        running=hb.running,
        done=hb.done,
        dropped=hb.dropped,
        started_at=hb.started_at,
        last_seen=seen,
    )


def _p99(samples: deque[float]) -> float | None:
    if not samples:
        return None
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
