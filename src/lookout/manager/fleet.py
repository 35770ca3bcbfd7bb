"""``lookout sites update --all --parallel N``: every site updated, N at a time, each outcome
reported as it comes.

It runs in the CLI's process, in threads (the CLI never forks, so threads are safe there; the
supervisor must stay single-threaded). Each update holds only its site's lock, so N run side by
side. When a supervisor runs, the sites are its forked children: the updates ask it to stop and
start them (``SupervisorSites``) and it leaves a site with an update under way alone; without
one, they start ``lookout serve`` subprocesses themselves (``DirectSites``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from typing import Literal

import httpx

from lookout.errors import LookoutError
from lookout.manager.manager import Manager
from lookout.manager.root import Record
from lookout.manager.supervisor import client_for
from lookout.manager.update import DirectSites, Sites, UpdateFailed, update

Result = Literal["updated", "restored", "failed"]


@dataclass(frozen=True)
class Outcome:
    """One site's update: ``updated``, ``restored`` (it failed at ``step``; the backup is back
    and the old site as it was) or ``failed`` (``error`` says what is left to do)."""

    name: str
    result: Result
    seconds: float
    step: str | None = None
    error: str | None = None


class SupervisorSites:
    """Stops and starts a site by asking the root's supervisor (it forks the sites)."""

    def __init__(self, manager: Manager) -> None:
        self.root = manager.root

    def stop(self, name: str) -> Record:
        return self._ask("stop", name)

    def start(self, name: str) -> Record:
        return self._ask("start", name)

    def _ask(self, op: str, name: str) -> Record:
        client = client_for(self.root)
        if client is None:
            raise LookoutError(f"the supervisor of {self.root.path} is gone ({op} {name})")
        client(op, {"name": name})
        return self.root.record(name)


def sites_for(manager: Manager) -> Sites:
    """Through the supervisor when one runs, else directly."""
    return (
        SupervisorSites(manager) if client_for(manager.root) is not None else DirectSites(manager)
    )


def update_one(manager: Manager, name: str, sites: Sites, to: str | None = None) -> Outcome:
    began = time.monotonic()
    try:
        done = update(manager, name, sites, to)
    except UpdateFailed as exc:
        result: Result = "restored" if exc.restored else "failed"
        return Outcome(name, result, time.monotonic() - began, exc.step, exc.error)
    except (LookoutError, OSError, httpx.HTTPError) as exc:  # the rollback itself failed
        return Outcome(name, "failed", time.monotonic() - began, None, str(exc))
    result = "updated" if done["outcome"] == "updated" else "restored"
    return Outcome(name, result, time.monotonic() - began)


def update_all(
    manager: Manager,
    names: list[str],
    parallel: int,
    on_done: Callable[[Outcome], None],
    to: str | None = None,
) -> list[Outcome]:
    """Update ``names`` (to version ``to``: see ``update``), ``parallel`` at a time;
    ``on_done`` hears of each as it finishes."""
    sites = sites_for(manager)
    outcomes: list[Outcome] = []
    with ThreadPoolExecutor(max(1, parallel), thread_name_prefix="update") as pool:
        futures = [pool.submit(update_one, manager, name, sites, to) for name in names]
        for future in as_completed(futures):
            outcome = future.result()
            on_done(outcome)
            outcomes.append(outcome)
    return outcomes
