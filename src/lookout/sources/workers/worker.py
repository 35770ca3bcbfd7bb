"""``lookout worker``: takes jobs of one pool from NATS JetStream, runs them through the embedded
runner (the same code that runs checks in a site) and publishes their results.

- A job is acknowledged only after its result is published (JetStream stored it), so the jobs
  of a worker killed mid-check go to another worker after the consumer's ack wait. While a
  check runs the worker reports progress, so a long check is not handed out twice.
- Results go in batches (:mod:`.batching`: many per message under load, one at a trickle),
  each batch with a ``Nats-Msg-Id`` of its own; a second copy of a result (a redelivered job
  run again) is dropped by the site as older than what it has.
- A job taken after the site stopped waiting for it (``give_up``) is dropped with a note in
  the log: the site has answered that run UNKNOWN already. One taken after its ``deadline``
  but before is run: right after a JetStream leader change the site may still count it as
  taken (a redelivery, or a first delivery it has not judged yet), and a result it has no
  use for is dropped there as older than the UNKNOWN.
- A Nagios check's job carries its command definition; ``$USERn$`` macros come from the
  worker's own resource file (paths and secrets of the machine that runs the plugins).
- Every ``heartbeat`` seconds the worker says on ``lookout.<site>.workers.<pool>`` that it is
  alive and how busy it is; when it stops it says so.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import msgspec
import nats.errors
import nats.js.errors
import pydantic
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js import JetStreamContext

from lookout.domain.commands import Command, CommandLineError
from lookout.domain.results import CheckResult
from lookout.sources.active.plugins import (
    CommandRunner,
    Executor,
    ProgramExecutor,
)
from lookout.sources.active.resources import ResourceFile
from lookout.sources.active.runner import CheckJob, EmbeddedRunner, host_state
from lookout.sources.active.spawner import SpawnerPool
from lookout.sources.workers import wire
from lookout.sources.workers.batching import MAX_BYTES, ResultSender
from lookout.sources.workers.connection import NatsAccess, Quiet, connect, describe
from lookout.sources.workers.storing import Storer
from lookout.sources.workers.streams import Layout

log = logging.getLogger(__name__)

RETRY = 0.5
GATHER = 0.005
"""Seconds to let jobs gather after a fetch that found fewer than there were slots for."""


@dataclass(frozen=True, slots=True)
class WorkerOptions:
    site: str
    """The site whose jobs this worker runs (its ``site_name``)."""
    pool: str
    concurrency: int = 50
    """Jobs run at the same time."""
    heartbeat: float = 5.0
    """Seconds between heartbeats."""
    spawners: int = 0
    """Helper processes that start plugins (0: the worker starts them itself)."""
    resource_file: str = ""
    """Nagios resource file with $USERn$=value lines (empty: $USER1$ is the plugin dir)."""
    kill_grace: float = 1.0
    drain: float = 30.0
    """Seconds a stopping worker lets its running checks finish."""
    name: str = ""
    """The worker's name (default: machine-pid-random)."""


class Worker:
    """One worker process's work (see the module)."""

    def __init__(
        self,
        access: NatsAccess,
        options: WorkerOptions,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if options.concurrency < 1:
            raise ValueError(f"concurrency must be at least 1, got {options.concurrency}")
        self.access = access
        self.options = options
        self.layout = Layout(options.site)
        self.machine = socket.gethostname()
        self.id = options.name or f"{self.machine}-{os.getpid()}-{secrets.token_hex(2)}"
        self._clock = clock
        self.started_at = clock()
        self.executor: ProgramExecutor = (
            SpawnerPool(
                options.spawners,
                concurrency=options.concurrency,
                kill_grace=options.kill_grace,
            )
            if options.spawners
            else Executor(concurrency=options.concurrency, kill_grace=options.kill_grace)
        )
        resources = ResourceFile(Path(options.resource_file)) if options.resource_file else None
        self.commands = CommandRunner(self.executor, resources=resources)
        self.runner = EmbeddedRunner(options.concurrency, clock, commands=self.commands)
        self.done = 0
        self.dropped = 0
        self._tasks: set[asyncio.Task[None]] = set()
        self._running: dict[int, tuple[Msg, float]] = {}
        """Jobs being run (acknowledged once their result is published) and since when."""
        self._free = asyncio.Event()
        self._stop = asyncio.Event()
        self._nc: Client | None = None
        self._quiet = Quiet()

    def stop(self) -> None:
        """Stop taking jobs; :meth:`run` returns once the running ones are done."""
        self._stop.set()

    async def run(self) -> None:
        """Take and run jobs until :meth:`stop` (or cancellation)."""
        try:
            nc = self._nc = await self._connect()
            if nc is None:
                return
            js = nc.jetstream(timeout=2.0)
            storer = Storer(nc)
            await storer.start()
            sender = ResultSender(
                storer,
                self.layout.results_subject,
                f"{self.id}-{secrets.token_hex(4)}-",
                max_bytes=min(MAX_BYTES, nc.max_payload // 2),  # room for headers
                retry=RETRY,
                report=self._publish_failed,
            )
            beat = asyncio.create_task(self._heartbeats(nc), name="worker heartbeats")
            sending = asyncio.create_task(sender.run(), name="worker results")
            try:
                sub = await self._subscribe(js)
                if sub is not None:
                    ack_wait = (await sub.consumer_info()).config.ack_wait or 30.0
                    progress = asyncio.create_task(self._progress(ack_wait))
                    try:
                        await self._take_jobs(sender, sub)
                        await self._drain()
                    finally:
                        progress.cancel()
                        await asyncio.gather(progress, return_exceptions=True)
            finally:
                beat.cancel()
                sending.cancel()
                await asyncio.gather(beat, sending, return_exceptions=True)
                with contextlib.suppress(Exception):
                    await self._beat(nc, stopping=True)
        finally:
            await self._close()

    async def _close(self) -> None:
        for task in list(self._tasks):
            task.cancel()  # not acknowledged: JetStream hands them out again
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.runner.aclose()
        await self.executor.aclose()
        if self._nc is not None:
            with contextlib.suppress(Exception):
                await self._nc.close()

    async def _connect(self) -> Client | None:
        """A connection (nats-py tries until it has one), or None when stopped first."""
        while not self._stop.is_set():
            connecting = asyncio.ensure_future(connect(self.access, f"lookout worker {self.id}"))
            stopping = asyncio.ensure_future(self._stop.wait())
            await asyncio.wait((connecting, stopping), return_when=asyncio.FIRST_COMPLETED)
            stopping.cancel()
            if not connecting.done():
                connecting.cancel()
                await asyncio.gather(connecting, return_exceptions=True)
                return None
            try:
                return connecting.result()
            except (nats.errors.Error, OSError, TimeoutError) as exc:
                log.error("NATS at %s: %s (trying again)", self.access.shown(), describe(exc))
            await self._pause(2.0)
        return None

    async def _subscribe(self, js: JetStreamContext) -> JetStreamContext.PullSubscription | None:
        """Bind to the pool's consumer, waiting until the site has made it."""
        consumer, stream = self.layout.pool_consumer(self.options.pool), self.layout.jobs_stream
        said = False
        while not self._stop.is_set():
            try:
                await js.consumer_info(stream, consumer)
                sub = await js.pull_subscribe_bind(consumer, stream)
                log.info("worker %s takes jobs of pool %s", self.id, self.options.pool)
                return sub
            except nats.js.errors.NotFoundError:
                if not said:
                    log.warning(
                        "pool %s has no jobs consumer in %s yet (the site makes it): waiting",
                        self.options.pool,
                        stream,
                    )
                    said = True
            except (nats.errors.Error, OSError, TimeoutError) as exc:
                log.error("cannot bind to pool %s: %s", self.options.pool, describe(exc))
            await self._pause(2.0)
        return None

    async def _take_jobs(
        self, sender: ResultSender, sub: JetStreamContext.PullSubscription
    ) -> None:
        while not self._stop.is_set():
            free = self.options.concurrency - len(self._tasks)
            if free <= 0:
                self._free.clear()
                await self._free.wait()
                continue
            try:
                msgs = await sub.fetch(free, timeout=1.0)
            except TimeoutError:
                continue
            except (nats.errors.Error, OSError) as exc:
                if self._quiet.fresh(f"taking jobs: {describe(exc)}"):
                    log.warning("taking jobs: %s (trying again)", describe(exc))
                await self._pause(RETRY)
                continue
            for msg in msgs:
                if self._stop.is_set():
                    await msg.nak()  # another worker takes it at once
                    continue
                task = asyncio.create_task(self._handle(sender, msg))
                self._tasks.add(task)
                task.add_done_callback(self._finished)
            if len(msgs) < free:  # the queue is short: let jobs gather (one fetch, many)
                await asyncio.sleep(GATHER)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        self._free.set()
        if not task.cancelled() and task.exception() is not None:
            log.error("a job failed", exc_info=task.exception())

    async def _drain(self) -> None:
        if self._tasks:
            log.info("stopping: letting %d running checks finish", len(self._tasks))
            await asyncio.wait(set(self._tasks), timeout=self.options.drain)

    async def _handle(self, sender: ResultSender, msg: Msg) -> None:
        try:
            job = wire.decode_job(msg.data)
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            log.error("a message on %s is not a job, dropped: %s", msg.subject, exc)
            await msg.term()
            return
        late = self._clock() - (job.give_up or job.deadline)
        if late > 0 or job.version != wire.WIRE_VERSION:
            why = (
                f"taken {late:.1f} s after the site stopped waiting (it has answered UNKNOWN)"
                if late > 0
                else f"wire version {job.version}, this worker speaks {wire.WIRE_VERSION}"
            )
            log.warning("job %s (%s/%s) dropped: %s", job.id, job.host, job.service, why)
            self.dropped += 1
            await msg.ack()
            return
        self._running[id(msg)] = (msg, time.monotonic())
        try:
            result = await self.run_job(job)
            body = wire.encode(
                wire.Result(job=job.id, issued_at=job.issued_at, worker=self.id, result=result)
            )
            await sender.send(body)
            await msg.ack()
        finally:
            del self._running[id(msg)]
        self.done += 1

    async def run_job(self, job: wire.Job) -> CheckResult:
        """Run ``job`` through the embedded runner (never raises)."""
        try:
            config = wire.check_config(job.check)
            if job.command is not None:
                self._define(*job.command)
        except (pydantic.ValidationError, CommandLineError) as exc:
            summary = f"worker {self.id} cannot run this check: {exc}".splitlines()[0]
            state = 3 if job.service else host_state(3)
            return CheckResult(job.host, job.service, state, summary, checked_at=self._clock())
        check = CheckJob(job.host, job.service, config, job.address, job.scheduled_at)
        return await self.runner.run(check)

    def _define(self, name: str, line: str) -> None:
        known = self.commands.commands.get(name)
        if known is None or known.line != line:
            self.commands.commands[name] = Command.parse(name, line)

    def _publish_failed(self, exc: BaseException) -> None:
        if self._quiet.fresh(f"publishing results: {describe(exc)}"):
            log.warning("publishing results: %s (trying again)", describe(exc))

    async def _heartbeats(self, nc: Client) -> None:
        while True:
            with contextlib.suppress(nats.errors.Error, OSError):
                await self._beat(nc)
            await asyncio.sleep(self.options.heartbeat)

    async def _beat(self, nc: Client, stopping: bool = False) -> None:
        hb = wire.Heartbeat(
            worker=self.id,
            pool=self.options.pool,
            machine=self.machine,
            pid=os.getpid(),
            started_at=self.started_at,
            at=self._clock(),
            concurrency=self.options.concurrency,
            running=len(self._tasks),
            done=self.done,
            dropped=self.dropped,
            stopping=stopping,
        )
        await nc.publish(self.layout.heartbeat_subject(self.options.pool), wire.encode(hb))
        if stopping:
            await nc.flush(timeout=2)

    async def _progress(self, ack_wait: float) -> None:
        """Tell JetStream, a few times per ack wait, which jobs are still being worked on."""
        every = max(0.05, ack_wait / 3)
        while True:
            await asyncio.sleep(every)
            since = time.monotonic() - every
            for msg, started in list(self._running.values()):
                if started < since:
                    with contextlib.suppress(nats.errors.Error, OSError):
                        await msg.in_progress()

    async def _pause(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self._stop.wait()
