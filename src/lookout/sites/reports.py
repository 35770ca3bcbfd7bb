"""Availability reports of a site: which objects a selection names, their events, and the
computation of ``domain.availability`` for each."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from lookout.domain.availability import (
    DT_END,
    DT_START,
    HOST,
    STATE,
    Availability,
    Change,
    Options,
    compute,
)
from lookout.domain.objects import HostConfig
from lookout.storage.reports import ReportEvents, created_times, read_report_events

Key = tuple[str, str]
MAX_OBJECTS = 200_000


@dataclass(frozen=True, slots=True)
class Selection:
    """Which objects a report covers; empty fields select everything."""

    host: str = ""
    service: str = ""
    group: str = ""
    labels: tuple[tuple[str, str], ...] = ()
    kind: str = "services"
    """``services``, ``hosts`` or ``all``."""


def select(
    hosts: Mapping[str, HostConfig], host_services: Mapping[str, Mapping[str, Any]], sel: Selection
) -> list[Key]:
    """The object keys ``sel`` names, hosts before their services, in name order."""
    keys: list[Key] = []
    for name in sorted(hosts):
        cfg = hosts[name]
        if sel.host and name != sel.host:
            continue
        if sel.group and sel.group not in cfg.groups:
            continue
        host_labels_match = all(cfg.labels.get(k) == v for k, v in sel.labels)
        if sel.kind in ("hosts", "all") and host_labels_match and not sel.service:
            keys.append((name, ""))
        if sel.kind in ("services", "all"):
            for svc_name, svc in sorted(host_services.get(name, {}).items()):
                if sel.service and svc_name != sel.service:
                    continue
                labels = {**cfg.labels, **svc.labels}
                if all(labels.get(k) == v for k, v in sel.labels):
                    keys.append((name, svc_name))
    return keys


async def availability(
    site: Any, sel: Selection, opts: Options, segments: bool = False
) -> list[Availability]:
    """The report over ``opts``' period for the objects ``sel`` names (``segments``: with
    each timeline's stretches, for a bar)."""
    engine = site.engine
    keys = select(engine.hosts, engine.host_services, sel)[:MAX_OBJECTS]
    hosts = {h for h, _ in keys}
    recent = list(site.runner.recent_events())
    events, created = await asyncio.gather(
        asyncio.to_thread(read_report_events, site.db, hosts, opts.start, opts.end, recent),
        asyncio.to_thread(created_times, site.db),
    )
    never_checked = {k for k in keys if not engine.status[k].checked}
    for key in never_checked:  # no result ever: not monitored at all yet
        created[key] = opts.end
    return await asyncio.to_thread(_compute_all, keys, events, created, opts, segments)


def _compute_all(
    keys: list[Key],
    ev: ReportEvents,
    created: Mapping[Key, float],
    opts: Options,
    segments: bool = False,
) -> list[Availability]:
    host_parts: dict[str, tuple[list[Change], set[int]]] = {}
    out = []
    for host, service in keys:
        changes = ev.changes.get((host, service), [])
        at_start = set(ev.at_start.get((host, service), ()))
        if service:
            from_host, host_at_start = host_parts.get(host) or host_parts.setdefault(
                host, _host_part(ev, host, opts)
            )
            if from_host:
                changes = sorted([*changes, *from_host], key=_at)
            at_start |= host_at_start
        initial_host = ev.initial.get((host, ""))
        host_state = initial_host[0] if initial_host is not None and initial_host[1] else 0
        out.append(
            compute(
                host,
                service,
                opts,
                ev.initial.get((host, service)),
                created.get((host, service), opts.start),
                changes,
                sorted(at_start),
                host_state if opts.host_down else 0,
                segments,
            )
        )
    return out


def _host_part(ev: ReportEvents, host: str, opts: Options) -> tuple[list[Change], set[int]]:
    """What a host passes on to its services: downtimes that include them, and (for the
    ``host_down`` column) its hard state changes."""
    changes: list[Change] = []
    for ch in ev.changes.get((host, ""), []):
        at, kind, state, hard, dt_id, *_ = ch
        if kind in (DT_START, DT_END) and dt_id in ev.covers_services:
            changes.append(ch)
        elif kind == STATE and hard and opts.host_down:
            changes.append((at, HOST, state, True, 0, host, ""))
    at_start = {i for i in ev.at_start.get((host, ""), ()) if i in ev.covers_services}
    return changes, at_start


def _at(change: Change) -> float:
    return change[0]
