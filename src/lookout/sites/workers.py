"""Wires worker pools (``[execution] runner = "nats"``) to the site: which pool runs a check,
what the runner reads from the engine, and the journaled path its results take."""

from __future__ import annotations

import re
from collections.abc import Awaitable
from typing import TYPE_CHECKING

from lookout.config import POOL_RE
from lookout.domain.results import CheckResult

if TYPE_CHECKING:  # NATS's client is imported by a site whose checks run on worker pools only
    from lookout.sites.site import Site
    from lookout.sources.active.runner import CheckJob
    from lookout.sources.workers.runner import NatsRunner

POOL_LABEL = "lookout/pool"
"""A service's or host's label naming the pool that runs its checks (the service's wins)."""
DEFAULT_POOL = "default"


class PoolRules:
    """The site's answers to a :class:`NatsRunner` (``PoolHooks``)."""

    def __init__(self, site: Site) -> None:
        self.site = site
        self.by_check = site.settings.nats.pool_map()

    def pool_for(self, job: CheckJob) -> str:
        """The label ``lookout/pool`` of the service, else of the host; else ``[nats] pools``
        by the Nagios command's name, else by the check type; else ``default``."""
        eng = self.site.engine
        service = eng.services.get((job.host, job.service)) if job.service else None
        host = eng.hosts.get(job.host)
        for labels in (service.labels if service else {}, host.labels if host else {}):
            pool = labels.get(POOL_LABEL)
            if pool is not None:
                if re.fullmatch(POOL_RE, pool) is None:
                    raise ValueError(
                        f"label {POOL_LABEL} = {pool!r} is not a pool name (1-63 lower-case "
                        "letters, digits, '-' and '_')"
                    )
                return pool
        command = getattr(job.config, "command", None)
        if isinstance(command, str) and command in self.by_check:
            return self.by_check[command]
        return self.by_check.get(job.config.type, DEFAULT_POOL)

    def interval_for(self, host: str, service: str) -> float | None:
        return self.site._interval_for(host, service)

    def last_result(self, host: str, service: str) -> float | None:
        st = self.site.engine.status.get((host, service))
        if st is None:
            return None
        return st.last_result if st.checked else 0.0  # unchecked: made at start, no result

    def command_line(self, name: str) -> str | None:
        command = self.site.commands.commands.get(name)
        return None if command is None else command.line

    def apply(self, result: CheckResult) -> Awaitable[None]:
        # the scheduler's path: results of one event-loop turn become one journal entry
        return self.site._submit_check_result(result)


def make_pools(site: Site) -> NatsRunner | None:
    """The site's worker pools, or None when checks run in the site."""
    if site.settings.execution.runner != "nats":
        return None
    from lookout.sources.workers.connection import access_in
    from lookout.sources.workers.runner import NatsRunner
    from lookout.sources.workers.streams import StreamOptions

    n = site.settings.nats
    return NatsRunner(
        access_in(n.url, site.dir, n.creds, n.tls_ca, n.tls_cert, n.tls_key),
        site.settings.site_name,
        PoolRules(site),
        options=StreamOptions(
            replicas=n.replicas,
            ack_wait=n.ack_wait,
            max_deliver=n.max_deliver,
            result_max_age=n.result_max_age,
        ),
        max_in_flight=n.max_in_flight,
        worker_timeout=n.worker_timeout,
        pools=sorted(set(n.pool_map().values())),
        clock=site.clock,
    )
