"""Event handlers: a host's or service's command, run on each of its state changes.

As Nagios does, a handler runs on every soft and hard state change and on every further soft
attempt, with the object's state macros (``$SERVICESTATE$``, ``$SERVICESTATETYPE$``,
``$SERVICEATTEMPT$``, ``$HOSTSTATE$`` …) next to ``$HOSTNAME$``, ``$HOSTADDRESS$``,
``$SERVICEDESC$`` and ``$ARGn$``. The runs of one object keep their order (a restart script
must not overtake the run before it); different objects run side by side, within the
executor's concurrency. Every program goes through the site's one executor, so the execution
switch covers handlers too. What a run did is handed to ``record`` (the site journals it as an
event).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from lookout.domain.commands import Execution
from lookout.sources.active.plugins import CommandRunner

log = logging.getLogger(__name__)

SERVICE_STATES = ("OK", "WARNING", "CRITICAL", "UNKNOWN")
HOST_STATES = ("UP", "DOWN", "UNREACHABLE")
MAX_WAITING = 10_000
"""Handler runs waiting at once; beyond, new triggers are dropped with a log line."""


@dataclass(frozen=True, slots=True)
class Trigger:
    """One state change of one object, with what its handler's macros need."""

    host: str
    service: str
    address: str
    handler: Mapping[str, Any]
    state: int
    hard: bool
    attempt: int
    summary: str
    host_state: int
    host_hard: bool
    host_attempt: int
    host_summary: str


def macros(t: Trigger) -> dict[str, str]:
    """The macros of a handler run (without ``$``)."""
    out = {
        "HOSTNAME": t.host,
        "HOSTALIAS": t.host,
        "HOSTADDRESS": t.address or t.host,
        "HOSTSTATE": HOST_STATES[t.host_state] if 0 <= t.host_state < 3 else "UNREACHABLE",
        "HOSTSTATEID": str(t.host_state),
        "HOSTSTATETYPE": "HARD" if t.host_hard else "SOFT",
        "HOSTATTEMPT": str(t.host_attempt),
        "HOSTOUTPUT": t.host_summary,
    }
    if t.service:
        out |= {
            "SERVICEDESC": t.service,
            "SERVICESTATE": SERVICE_STATES[t.state] if 0 <= t.state < 4 else "UNKNOWN",
            "SERVICESTATEID": str(t.state),
            "SERVICESTATETYPE": "HARD" if t.hard else "SOFT",
            "SERVICEATTEMPT": str(t.attempt),
            "SERVICEOUTPUT": t.summary,
        }
    for i, arg in enumerate(t.handler.get("args") or (), start=1):
        out[f"ARG{i}"] = str(arg)
    return out


class EventHandlers:
    """Runs handlers in the background; ``trigger`` returns at once."""

    def __init__(
        self,
        commands: CommandRunner,
        record: Callable[[Trigger, Execution], None],
        *,
        enabled: bool = True,
    ) -> None:
        self.commands = commands
        self.record = record
        self.enabled = enabled
        """The handlers' own switch (``[execution] event_handlers``); the executor's
        switch is checked as well."""
        self._chains: dict[tuple[str, str], asyncio.Task[None]] = {}
        self._waiting = 0
        self.runs = 0

    @property
    def active(self) -> bool:
        return self.enabled and self.commands.enabled

    def trigger(self, t: Trigger) -> None:
        """Run ``t``'s handler after the object's earlier runs (called from the engine)."""
        if not self.active:
            return
        if self._waiting >= MAX_WAITING:
            log.error(
                "event handler of %s/%s dropped: %d runs waiting", t.host, t.service, self._waiting
            )
            return
        key = (t.host, t.service)
        before = self._chains.get(key)
        self._waiting += 1
        task = asyncio.get_running_loop().create_task(self._run(t, before))
        self._chains[key] = task
        task.add_done_callback(lambda done: self._forget(key, done))

    def _forget(self, key: tuple[str, str], done: asyncio.Task[None]) -> None:
        if self._chains.get(key) is done:
            del self._chains[key]

    async def _run(self, t: Trigger, before: asyncio.Task[None] | None) -> None:
        try:
            if before is not None:
                await asyncio.shield(before)
            name = str(t.handler.get("command", ""))
            timeout = float(t.handler.get("timeout") or 30.0)
            execution = await self.commands.run_command(name, macros(t), timeout)
            self.runs += 1
            self.record(t, execution)
        except asyncio.CancelledError:
            raise
        except Exception:  # a handler must never take the site down
            log.exception("event handler of %s/%s failed", t.host, t.service)
        finally:
            self._waiting -= 1

    async def aclose(self) -> None:
        """Wait briefly for running handlers, then cancel what is left."""
        tasks = list(self._chains.values())
        if not tasks:
            return
        _, pending = await asyncio.wait(tasks, timeout=5)
        for task in pending:
            task.cancel()
