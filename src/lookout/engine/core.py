"""The engine core: a site's live state and the deterministic application of inputs to it.

Synchronous and free of I/O: :class:`~lookout.engine.runner.SiteRunner` feeds it journaled
inputs and persists what it reports (events, dirty statuses, downtimes, comments, metric points).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

from lookout.domain.events import Event, EventType
from lookout.domain.handling import Ack, Comment, Downtime
from lookout.domain.metrics import Metric
from lookout.domain.objects import HostConfig, ServiceConfig
from lookout.domain.results import CheckResult
from lookout.engine import downtimes as dt_rules
from lookout.engine import inputs as inp
from lookout.engine.flapping import HISTORY, FlapThresholds
from lookout.engine.status import Status
from lookout.engine.transitions import Change, apply_result

NO_HOST_CHECK = "No host check: UP unless a host result says otherwise"

Key = tuple[str, str]


class MetricSink(Protocol):
    def add(self, host: str, service: str, metrics: Any, ts: float) -> None: ...


@dataclass(frozen=True, slots=True)
class EngineSettings:
    """Rules that are site-wide settings."""

    service_flap: FlapThresholds = field(default_factory=FlapThresholds)
    host_flap: FlapThresholds = field(default_factory=FlapThresholds)


@dataclass(slots=True)
class Counters:
    results: int = 0
    results_unknown_object: int = 0
    actions: int = 0
    events: int = 0
    changes: int = 0
    """Inputs other than results and ticks, and configuration changes: what tells a reader
    (Livestatus' reused Stats answers) that a user changed something."""


class Engine:
    """Owns hosts, services, their statuses, downtimes and comments of one site."""

    def __init__(self, settings: EngineSettings | None = None, metrics: MetricSink | None = None):
        self.settings = settings or EngineSettings()
        self.metrics_sink = metrics
        self.hosts: dict[str, HostConfig] = {}
        self.services: dict[Key, ServiceConfig] = {}
        self.host_services: dict[str, dict[str, ServiceConfig]] = {}
        self.status: dict[Key, Status] = {}
        self.dependents: dict[Key, set[Key]] = {}
        """For each service others depend on, those services (``ServiceConfig.depends_on``)."""
        self.downtimes: dict[int, Downtime] = {}
        self.comments: dict[int, Comment] = {}
        self.next_id = 1
        self.counters = Counters()
        # What the runner persists at the next checkpoint / publishes after the next commit:
        self.events: list[Event] = []
        self.dirty: set[Status] = set()
        self.deleted: set[Key] = set()
        self.downtimes_changed = False
        self.comments_changed = False
        self.on_recheck: Callable[[Key], None] | None = None
        self.on_state: Callable[[Status], None] | None = None
        """Called after a state change, a hard change or a further soft attempt (event
        handlers); not during journal replay."""
        self.started_at = 0.0
        """When the site last started: staleness counts from it (see ``resume``)."""
        self._stale_due = 0.0  # the first tick scans everything
        self._ack_due = 0.0
        self.memo: dict[str, Any] = {}
        """Memos of readers in other layers (the web UI's overview), by a name of theirs: they
        go with the engine. Not a weak-key dictionary: a compiled Engine takes no weak
        references (``lookout.compiled``)."""

    # ------------------------------------------------------------------ config
    def put_host(self, cfg: HostConfig, at: float, status: Status | None = None) -> None:
        self.counters.changes += 1
        self.hosts[cfg.name] = cfg
        self.host_services.setdefault(cfg.name, {})
        key = (cfg.name, "")
        st = self.status.get(key)
        if st is None:
            st = status or Status(cfg.name, "", at)
            self.status[key] = st
            self.deleted.discard(key)
            self._restore_depth(st)
            self.dirty.add(st)
        st.cfg = cfg
        self._assume_up_unless_checked(st, cfg)

    def _assume_up_unless_checked(self, st: Status, cfg: HostConfig) -> None:
        """A host without a host check is UP (as in Nagios) until a host result says
        otherwise; one that gains a check before any result waits for its first result."""
        if st.last_check:
            return  # a result came: it decides
        if cfg.check is None and not st.checked:
            st.checked, st.summary = True, NO_HOST_CHECK
        elif cfg.check is not None and st.checked:
            st.checked, st.summary = False, "Waiting for the first result"
        else:
            return
        st.state, st.hard, st.attempt = 0, True, 1
        self.dirty.add(st)

    def put_service(self, cfg: ServiceConfig, at: float, status: Status | None = None) -> None:
        self.counters.changes += 1
        key = (cfg.host, cfg.name)
        old = self.services.get(key)
        if old is not None or cfg.depends_on:  # start-up loads 100,000s without either
            self._index_dependencies(key, old, cfg)
        self.services[key] = cfg
        self.host_services.setdefault(cfg.host, {})[cfg.name] = cfg
        st = self.status.get(key)
        if st is None:
            st = status or Status(cfg.host, cfg.name, at)
            self.status[key] = st
            self.deleted.discard(key)
            if self.downtimes:
                self._restore_depth(st)
            self.dirty.add(st)
        st.cfg = cfg
        st.host_status = self.status[(cfg.host, "")]
        if cfg.stale_after > 0:
            self._stale_due = min(self._stale_due, self._stale_deadline(st, cfg))

    def _index_dependencies(
        self, key: Key, old: ServiceConfig | None, new: ServiceConfig | None
    ) -> None:
        for parent in old.depends_on if old is not None else ():
            children = self.dependents.get(parent)
            if children is not None:
                children.discard(key)
                if not children:
                    del self.dependents[parent]
        for parent in new.depends_on if new is not None else ():
            self.dependents.setdefault(parent, set()).add(key)

    def remove_service(self, host: str, name: str) -> None:
        key = (host, name)
        self._index_dependencies(key, self.services.get(key), None)
        self.services.pop(key, None)
        self.host_services.get(host, {}).pop(name, None)
        self._forget_status(key)
        for dt_id in [i for i, d in self.downtimes.items() if (d.host, d.service) == key]:
            del self.downtimes[dt_id]
            self.downtimes_changed = True

    def remove_host(self, name: str) -> None:
        for svc in list(self.host_services.get(name, {})):
            self.remove_service(name, svc)
        self.host_services.pop(name, None)
        self.hosts.pop(name, None)
        self._forget_status((name, ""))
        for dt_id in [i for i, d in self.downtimes.items() if d.host == name]:
            del self.downtimes[dt_id]
            self.downtimes_changed = True

    def _forget_status(self, key: Key) -> None:
        self.counters.changes += 1
        st = self.status.pop(key, None)
        if st is not None:
            self.dirty.discard(st)
            self.deleted.add(key)
        for cid in [i for i, c in self.comments.items() if (c.host, c.service) == key]:
            del self.comments[cid]
            self.comments_changed = True

    # ------------------------------------------------------------------ helpers
    def _id(self) -> int:
        value = self.next_id
        self.next_id += 1
        return value

    def _emit(self, at: float, type_: EventType, st: Status, **fields: Any) -> None:
        self._log(at, type_, st.host, st.service, **fields)

    def _log(self, at: float, type_: EventType, host: str, service: str, **fields: Any) -> int:
        event_id = self._id()
        self.events.append(
            Event(id=event_id, at=at, type=type_, host=host, service=service, **fields)
        )
        self.counters.events += 1
        return event_id

    def host_up(self, host: str) -> bool:
        st = self.status.get((host, ""))
        return st is None or st.state == 0

    def host_in_downtime(self, host: str) -> bool:
        st = self.status.get((host, ""))
        return st is not None and st.downtime_depth > 0

    def handled(self, st: Status) -> bool:
        """Acknowledged, in downtime (own or host's), a service on a host that is not UP, or
        a service one of whose dependencies has a problem."""
        if st.ack is not None or st.downtime_depth > 0:
            return True
        if not st.service:
            return False
        if self.host_in_downtime(st.host) or not self.host_up(st.host):
            return True
        return self.cause(st) is not None

    def cause(self, st: Status) -> Status | None:
        """The first service ``st`` depends on that has a problem now (None: none has)."""
        cfg = st.cfg
        if not isinstance(cfg, ServiceConfig) or not cfg.depends_on:
            return None
        for key in cfg.depends_on:
            parent = self.status.get(key)
            if parent is not None and parent.checked and parent.state != 0:
                return parent
        return None

    def affected(self, st: Status, limit: int = 20) -> list[str]:
        """``host/service`` of the services that depend on ``st`` (at most ``limit``)."""
        children = self.dependents.get((st.host, st.service))
        return [f"{h}/{s}" for h, s in sorted(children)[:limit]] if children else []

    def keys_of(self, target: inp.Target) -> list[Key]:
        """Resolve a target to existing object keys, in a stable order."""
        if target.host is not None:
            key = (target.host, target.service or "")
            return [key] if key in self.status else []
        hosts = [h for h in self.hosts.values() if _matches(h, target)]
        keys: list[Key] = []
        for h in hosts:
            keys.append((h.name, ""))
            if target.services:
                keys.extend((h.name, s) for s in self.host_services.get(h.name, {}))
        return keys

    # ------------------------------------------------------------------ apply
    def apply(self, item: inp.Input) -> Any:
        """Apply one journaled input; the return value describes what it did."""
        if isinstance(item, inp.Results):
            return self.apply_results(item.results, item.at)
        self.counters.actions += 1
        if isinstance(item, inp.Tick):
            return self.tick(item.at)
        self.counters.changes += 1
        if isinstance(item, inp.Acknowledge):
            return self._acknowledge(item)
        if isinstance(item, inp.RemoveAcknowledgement):
            return self._remove_ack(item)
        if isinstance(item, inp.ScheduleDowntime):
            return self._schedule_downtime(item)
        if isinstance(item, inp.RemoveDowntime):
            return self._remove_downtime(item)
        if isinstance(item, inp.AddComment):
            return self._add_comment(item)
        if isinstance(item, inp.RemoveComment):
            return self._remove_comment(item)
        if isinstance(item, inp.Recheck):
            return self._recheck(item)
        if isinstance(item, inp.Quarantine):
            return self._quarantine(item)
        if isinstance(item, inp.HandlerRan):
            return self._handler_ran(item)
        raise TypeError(f"unknown input {type(item).__name__}")

    def apply_results(self, results: Iterable[CheckResult], at: float) -> int:
        """Apply results received at ``at``; returns how many named a known object."""
        if self.dependents:  # causes first: a consequence in the same batch sees its cause
            results = _causes_first(results, self.status)
        applied = 0
        status = self.status
        dirty_add = self.dirty.add
        sink = self.metrics_sink
        for r in results:
            st = status.get((r.host, r.service))
            if st is None:
                self.counters.results_unknown_object += 1
                continue
            if (
                r.state == 0
                and st.state == 0
                and st.flap_changes == 0
                and not st.flapping
                and len(st.flap_history) == HISTORY
                and st.checked
            ):
                # Steady OK, the common case: only times and texts change (as apply_result
                # would do it, without its bookkeeping).
                st.last_check = st.last_ok = at
                st.summary = r.summary
                st.long_output = r.long_output
                st.stale = False
                host_st = st.host_status
                if host_st is not None:
                    st.host_problem = host_st.state != 0
            else:
                self._apply_one(st, r.state, r.summary, r.long_output, at)
            st.last_result = at
            if r.metrics:
                st.metrics = r.metrics
                if sink is not None:
                    sink.add(r.host, r.service, r.metrics, r.checked_at or at)
            dirty_add(st)
            applied += 1
        self.counters.results += applied
        return applied

    def _apply_one(self, st: Status, state: int, summary: str, long_output: str, at: float) -> None:
        cfg = st.cfg
        assert cfg is not None  # set by put_host / put_service
        host_st = st.host_status
        if host_st is not None:
            max_attempts = cfg.max_check_attempts
            host_up = host_st.state == 0
            flap = self.settings.service_flap
        else:
            cfg_h = self.hosts[st.host]
            max_attempts = cfg_h.max_check_attempts
            host_up = True
            flap = self.settings.host_flap
            if state == 1 and cfg_h.parents and not any(self.host_up(p) for p in cfg_h.parents):
                state = 2
                summary = f"{summary} (unreachable: parents {', '.join(cfg_h.parents)} down)"
        change = apply_result(st, state, summary, long_output, at, max_attempts, host_up, flap)
        if change is not None:
            self._on_change(st, change, at)

    def _on_change(self, st: Status, ch: Change, at: float) -> None:
        if ch.ack_cleared is not None:
            self._clear_ack(st, ch.ack_cleared, at, "", "state changed")
        if ch.state_changed or ch.hard_changed:
            if ch.state_changed and st.state != 0:
                self._trigger_flexible(st, at)  # first: the problem it covers must not notify
            notify = (
                ch.hard_changed
                and st.ack is None
                and not self.handled(st)
                and not st.flapping
                and not (st.service and self.host_in_downtime(st.host))
            )
            data: dict[str, Any] = {
                "old_state": ch.old_state,
                "old_hard": ch.old_hard,
                "hard_change": ch.hard_changed,
                "host_problem": st.host_problem,
                "notify": notify,
            }
            if st.state != 0 and (cause := self.cause(st)) is not None:
                data["cause"] = f"{cause.host}/{cause.service}"
            if affected := self.affected(st):
                data["affects"] = affected
            # A recovery from a soft problem is a soft recovery in the log (as in Nagios),
            # though the OK state itself is hard at once.
            soft_recovery = st.state == 0 and ch.old_state != 0 and not ch.old_hard
            # built here, not through _emit's keyword dictionaries: one per result under churn
            self.events.append(
                Event(
                    id=self._id(),
                    at=at,
                    type=EventType.STATE_CHANGE,
                    host=st.host,
                    service=st.service,
                    state=st.state,
                    state_type="soft" if soft_recovery else st.state_type,
                    attempt=st.attempt,
                    summary=st.summary,
                    data=data,
                )
            )
            self.counters.events += 1
        if (
            self.on_state is not None
            and (ch.state_changed or ch.hard_changed or ch.soft_retry)
            and not (st.state == 0 and ch.old_state == 0)  # a first OK: nothing to handle
        ):
            self.on_state(st)
        if ch.flapping is not None:
            kind = EventType.FLAPPING_START if ch.flapping else EventType.FLAPPING_STOP
            self._emit(
                at,
                kind,
                st,
                state=st.state,
                summary=f"percent state change {st.percent_state_change:.1f}%",
            )

    # ------------------------------------------------------------------ acknowledgements
    def _acknowledge(self, item: inp.Acknowledge) -> list[Key]:
        done: list[Key] = []
        for key in item.keys:
            st = self.status.get(key)
            if st is None or st.state == 0:
                continue
            if st.ack is not None:
                self._clear_ack(st, st.ack, item.at, item.author, "replaced")
            cid = self._id()
            self.comments[cid] = Comment(
                id=cid,
                host=st.host,
                service=st.service,
                at=item.at,
                author=item.author,
                text=item.comment,
                kind="ack",
                persistent=item.persistent,
            )
            self.comments_changed = True
            if item.expire_at is not None:
                self._ack_due = min(self._ack_due, item.expire_at)
            st.ack = Ack(
                author=item.author,
                comment=item.comment,
                sticky=item.sticky,
                notify=item.notify,
                persistent=item.persistent,
                expire_at=item.expire_at,
                set_at=item.at,
                comment_id=cid,
            )
            self.dirty.add(st)
            self._emit(
                item.at,
                EventType.ACK_SET,
                st,
                state=st.state,
                author=item.author,
                comment=item.comment,
                data={"sticky": item.sticky, "notify": item.notify, "expire_at": item.expire_at},
            )
            done.append(key)
        return done

    def _remove_ack(self, item: inp.RemoveAcknowledgement) -> list[Key]:
        done: list[Key] = []
        for key in item.keys:
            st = self.status.get(key)
            if st is not None and st.ack is not None:
                self._clear_ack(st, st.ack, item.at, item.author, item.comment or "removed")
                done.append(key)
        return done

    def _clear_ack(self, st: Status, ack: Ack, at: float, author: str, reason: str) -> None:
        st.ack = None
        self.dirty.add(st)
        comment = self.comments.get(ack.comment_id)
        if comment is not None and not comment.persistent:
            del self.comments[ack.comment_id]
            self.comments_changed = True
        self._emit(at, EventType.ACK_REMOVED, st, state=st.state, author=author, comment=reason)

    # ------------------------------------------------------------------ downtimes
    def _schedule_downtime(self, item: inp.ScheduleDowntime) -> list[int]:
        ids: list[int] = []
        for host, service in item.targets:
            if (host, service) not in self.status:
                continue
            dt = Downtime(
                id=self._id(),
                host=host,
                service=service,
                start=item.start,
                end=item.end,
                fixed=item.fixed,
                duration=item.duration,
                include_services=item.include_services and not service,
                recurrence=item.recurrence,
                author=item.author,
                comment=item.comment,
                created_at=item.at,
            )
            self.downtimes[dt.id] = dt
            self.downtimes_changed = True
            self._emit(
                item.at,
                EventType.DOWNTIME_SCHEDULED,
                self.status[(host, service)],
                author=item.author,
                comment=item.comment,
                data=_downtime_data(dt),
            )
            ids.append(dt.id)
            if self._due(dt, item.at):
                self._start_downtime(dt, item.at)
        return ids

    def _remove_downtime(self, item: inp.RemoveDowntime) -> list[int]:
        done: list[int] = []
        for dt_id in item.ids:
            dt = self.downtimes.pop(dt_id, None)
            if dt is None:
                continue
            self.downtimes_changed = True
            if dt.started_at is not None:
                self._cover(dt, -1)
            st = self.status.get((dt.host, dt.service))
            if st is not None:
                self._emit(
                    item.at,
                    EventType.DOWNTIME_CANCEL,
                    st,
                    author=item.author,
                    comment=item.comment or dt.comment,
                    data=_downtime_data(dt),
                )
            done.append(dt_id)
        return done

    def _start_downtime(self, dt: Downtime, at: float) -> None:
        dt.started_at = at
        self.downtimes_changed = True
        self._cover(dt, +1)
        self._emit_downtime(EventType.DOWNTIME_START, dt, at)

    def _emit_downtime(self, kind: EventType, dt: Downtime, at: float) -> None:
        st = self.status.get((dt.host, dt.service))
        if st is not None:
            self._emit(at, kind, st, author=dt.author, comment=dt.comment, data=_downtime_data(dt))

    def _end_downtime(self, dt: Downtime, at: float) -> None:
        if dt.started_at is not None:
            self._cover(dt, -1)
            self._emit_downtime(EventType.DOWNTIME_END, dt, at)
        self.downtimes_changed = True
        if not dt_rules.advance(dt, at):
            del self.downtimes[dt.id]
        elif self._due(dt, at):
            self._start_downtime(dt, at)

    def _covered(self, dt: Downtime) -> Iterator[Status]:
        st = self.status.get((dt.host, dt.service))
        if st is not None:
            yield st
        if not dt.service and dt.include_services:
            for name in self.host_services.get(dt.host, {}):
                svc = self.status.get((dt.host, name))
                if svc is not None:
                    yield svc

    def _cover(self, dt: Downtime, delta: int) -> None:
        for st in self._covered(dt):
            st.downtime_depth = max(0, st.downtime_depth + delta)

    def _restore_depth(self, st: Status) -> None:
        st.downtime_depth = sum(
            1
            for d in self.downtimes.values()
            if d.started_at is not None and d.covers(st.host, st.service)
        )

    def _due(self, dt: Downtime, at: float) -> bool:
        """Start now: a fixed one inside its window, or a flexible one whose object is
        already in a problem inside its window (no state change would trigger it)."""
        if dt.fixed or dt.started_at is not None:
            return dt_rules.should_start(dt, at)
        st = self.status.get((dt.host, dt.service))
        return dt.start <= at < dt.end and st is not None and st.state != 0

    def _trigger_flexible(self, st: Status, at: float) -> None:
        for dt in list(self.downtimes.values()):
            if (
                not dt.fixed
                and dt.started_at is None
                and dt.start <= at <= dt.end
                and dt.host == st.host
                and dt.service == st.service
            ):
                self._start_downtime(dt, at)

    # ------------------------------------------------------------------ comments, recheck
    def _add_comment(self, item: inp.AddComment) -> list[int]:
        ids: list[int] = []
        for key in item.keys:
            st = self.status.get(key)
            if st is None:
                continue
            cid = self._id()
            self.comments[cid] = Comment(
                id=cid,
                host=st.host,
                service=st.service,
                at=item.at,
                author=item.author,
                text=item.comment,
            )
            self.comments_changed = True
            self._emit(item.at, EventType.COMMENT, st, author=item.author, comment=item.comment)
            ids.append(cid)
        return ids

    def _remove_comment(self, item: inp.RemoveComment) -> list[int]:
        """Delete comments (an acknowledgement stays: its comment is only its note)."""
        done: list[int] = []
        for cid in item.ids:
            c = self.comments.pop(cid, None)
            if c is None:
                continue
            self.comments_changed = True
            self._log(
                item.at,
                EventType.COMMENT_REMOVED,
                c.host,
                c.service,
                author=item.author,
                comment=c.text,
                data={"comment_id": cid},
            )
            done.append(cid)
        return done

    def _recheck(self, item: inp.Recheck) -> list[Key]:
        done: list[Key] = []
        for key in item.keys:
            st = self.status.get(key)
            if st is None:
                continue
            self._emit(item.at, EventType.RECHECK, st, author=item.author, comment=item.comment)
            if self.on_recheck is not None:
                self.on_recheck(key)
            done.append(key)
        return done

    # ------------------------------------------------------------------ the clock
    def resume(self, at: float) -> None:
        """The site (re)starts at ``at``: results it could not take while it was down are not
        its services' fault. An active check's staleness counts from ``at`` (the scheduler
        runs the checks that came due at once); a passive service gets one interval of grace
        for its sender to reach the site again."""
        self.started_at = at
        self._stale_due = 0.0

    def tick(self, at: float) -> int:
        """Staleness, ack expiry, downtime start/end at time ``at``; returns how many changes
        it made (0: nothing to journal)."""
        before = len(self.events)
        changed = 0  # an occurrence can end or move on without an event: still journal it
        for dt in list(self.downtimes.values()):
            if dt_rules.has_ended(dt, at):
                self._end_downtime(dt, at)
                changed += 1
            elif self._due(dt, at):
                self._start_downtime(dt, at)
                changed += 1
        if at >= self._ack_due:
            self._expire_acks(at)
        stale = self._mark_stale(at) if at >= self._stale_due else 0
        return changed + stale + len(self.events) - before

    # The clock must not scan 100,000 statuses every second: each scan remembers the earliest
    # time anything can be due (a lower bound: results and new acks only move it as computed),
    # and the next scan waits for it. A skipped scan would have found nothing, so replay, which
    # starts with a full scan, reaches the same state.

    def _expire_acks(self, at: float) -> None:
        due = math.inf
        for st in self.status.values():
            ack = st.ack
            if ack is None or ack.expire_at is None:
                continue
            if at >= ack.expire_at:
                self._clear_ack(st, ack, at, "", "expired")
            else:
                due = min(due, ack.expire_at)
        self._ack_due = due

    def _stale_deadline(self, st: Status, cfg: ServiceConfig) -> float:
        patience = cfg.stale_after * cfg.check_interval
        if cfg.check is not None:  # active: the scheduler catches up right after a start
            deadline = max(st.last_result, self.started_at) + patience
        else:  # passive: its sender may need one interval to reach the site again
            deadline = max(st.last_result + patience, self.started_at + cfg.check_interval)
        if st.stale:  # stale already: the next UNKNOWN attempt after a (retry) interval
            wait = cfg.retry_interval if (st.state != 0 and not st.hard) else cfg.check_interval
            deadline = max(deadline, st.last_check + wait)
        return deadline

    def _mark_stale(self, at: float) -> int:
        due = math.inf
        stale: list[tuple[Status, ServiceConfig]] = []
        for key, cfg in self.services.items():
            if cfg.stale_after <= 0:
                continue
            st = self.status[key]
            deadline = self._stale_deadline(st, cfg)
            if at >= deadline:
                stale.append((st, cfg))
            elif deadline < due:
                due = deadline
        for st, cfg in stale:
            minutes = (at - st.last_result) / 60.0
            summary = (
                f"No result for {minutes:.1f} min (expected every {cfg.check_interval:g} s; "
                f"stale after {cfg.stale_after:g} intervals)"
            )
            self._apply_one(st, 3, summary, "", at)
            st.stale = True
            self.dirty.add(st)
            due = min(due, self._stale_deadline(st, cfg))
        self._stale_due = due
        return len(stale)

    # ------------------------------------------------------------------ hand-over to the runner
    def _quarantine(self, item: inp.Quarantine) -> int:
        return self._log(
            item.at,
            EventType.QUARANTINE,
            item.host,
            item.service,
            summary=item.reason,
            author="lookout",
            data={"source": item.source, "detail": item.detail},
        )

    def _handler_ran(self, item: inp.HandlerRan) -> int:
        if item.error:
            summary = f"{item.command}: {item.error}"
        elif item.signal is not None:
            summary = f"{item.command} killed by signal {item.signal} after {item.elapsed:.1f} s"
        else:
            summary = f"{item.command} exited {item.exit_code} after {item.elapsed:.1f} s"
        return self._log(
            item.at,
            EventType.EVENT_HANDLER,
            item.host,
            item.service,
            state=item.state,
            state_type=item.state_type,
            attempt=item.attempt,
            summary=summary,
            author="lookout",
            comment=item.output,
            data={
                "command": item.command,
                "exit_code": item.exit_code,
                "signal": item.signal,
                "elapsed": round(item.elapsed, 3),
                "error": item.error,
            },
        )

    def take_events(self) -> list[Event]:
        events, self.events = self.events, []
        return events


def _matches(host: HostConfig, target: inp.Target) -> bool:
    if target.group is not None and target.group not in host.groups:
        return False
    return all(host.labels.get(k) == v for k, v in (target.labels or {}).items())


def _downtime_data(dt: Downtime) -> dict[str, Any]:
    return {
        "downtime_id": dt.id,
        "start": dt.start,
        "end": dt.end,
        "fixed": dt.fixed,
        "duration": dt.duration,
        "include_services": dt.include_services,
        "recurrence": dt.recurrence,
    }


def metric_list(metrics: tuple[Metric, ...]) -> list[dict[str, Any]]:
    return [
        {
            "name": m.name,
            "value": m.value,
            "unit": m.unit,
            "warn": m.warn,
            "crit": m.crit,
            "min": m.min,
            "max": m.max,
        }
        for m in metrics
    ]


def _causes_first(results: Iterable[CheckResult], status: dict[Key, Status]) -> list[CheckResult]:
    """``results`` with those of services that depend on others moved to the end (stable)."""
    causes: list[CheckResult] = []
    consequences: list[CheckResult] = []
    for r in results:
        st = status.get((r.host, r.service))
        cfg = st.cfg if st is not None else None
        (consequences if isinstance(cfg, ServiceConfig) and cfg.depends_on else causes).append(r)
    return causes + consequences if consequences else causes
