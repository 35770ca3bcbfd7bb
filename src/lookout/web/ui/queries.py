"""What the pages show, computed from the engine's live state (no I/O, no HTML).

Everything here runs on the event loop against in-memory dicts: a 100,000-service site is a
few passes over plain objects, which keeps the pages within their time budget without a cache.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from lookout.domain.states import state_name
from lookout.engine.core import Engine
from lookout.engine.status import Status
from lookout.web.ui.integrations import K_CLUSTER, K_NAMESPACE, ClusterTile, kube_clusters

SERVICE_STATES = ("ok", "warn", "crit", "unknown")
HOST_STATES = ("up", "down", "unreachable")
STATE_FILTER = {"ok": 0, "warn": 1, "crit": 2, "unknown": 3, "down": 1, "unreachable": 2}
_RANK = {2: 0, 3: 1, 1: 2, 0: 3}  # CRIT, UNKNOWN, WARN, OK
_HOST_RANK = {1: 0, 2: 0, 0: 3}  # a host that is not UP ranks with CRIT


def css_state(st: Status) -> str:
    """The CSS class of a status: ok/warn/crit/unknown/pending (hosts: down → crit)."""
    if not st.checked:
        return "pending"
    if st.is_host:
        return ("ok", "crit", "unknown")[st.state] if st.state < 3 else "unknown"
    return SERVICE_STATES[st.state] if st.state < 4 else "unknown"


def label_of(st: Status) -> str:
    return state_name(st.state, is_host=st.is_host) if st.checked else "PENDING"


# ---------------------------------------------------------------------- overview
@dataclass(slots=True)
class Overview:
    hosts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(HOST_STATES, 0))
    services: dict[str, int] = field(default_factory=lambda: dict.fromkeys(SERVICE_STATES, 0))
    pending: int = 0
    unhandled: int = 0
    handled: int = 0
    stale: int = 0
    host_total: int = 0
    service_total: int = 0
    clusters: list[ClusterTile] = field(default_factory=list)


MAX_AGE = 5.0
"""Seconds the overview's counts may be reused while no event happened (see :func:`overview`)."""


def overview(engine: Engine) -> Overview:
    """Counts for the overview, memoised: many browsers polling a big site cost one pass.

    State, handled/unhandled and host counts only change with an event (state change, ack,
    downtime) or an object added/removed, which invalidates the memo at once. Two counts can
    change without an event — a first OK result (PENDING → OK) and a stale object getting a
    result in the same state — so the memo is also dropped after :data:`MAX_AGE` seconds."""
    key = (engine.counters.events, len(engine.status))
    now = time.monotonic()
    memo: tuple[tuple[int, ...], float, Overview] | None = engine.memo.get(_OVERVIEW)
    if memo is not None and memo[0] == key and now - memo[1] < MAX_AGE:
        return memo[2]
    ov = _count(engine)
    engine.memo[_OVERVIEW] = (key, now, ov)
    engine.memo[_UNHANDLED] = (key, ov.unhandled)
    return ov


def _count(engine: Engine) -> Overview:
    """One pass over every status (hot: ~100,000 objects; plain locals, no method calls)."""
    svc = [0, 0, 0, 0]
    hst = [0, 0, 0]
    pending = stale = unhandled = handled = hosts = 0
    problems: list[Status] = []
    for st in engine.status.values():
        if st.service:
            if not st.checked:
                pending += 1
                continue
            state = st.state
            svc[state] += 1
        else:
            hosts += 1
            state = st.state
            hst[state if state < 3 else 2] += 1
        if st.stale:
            stale += 1
        if state:
            problems.append(st)
            h = st.host_status
            if (
                st.ack is not None
                or st.downtime_depth > 0
                or (h is not None and (h.downtime_depth > 0 or h.state != 0))
            ):
                handled += 1
            else:
                unhandled += 1
    ov = Overview(
        hosts=dict(zip(HOST_STATES, hst, strict=True)),
        services=dict(zip(SERVICE_STATES, svc, strict=True)),
        pending=pending,
        unhandled=unhandled,
        handled=handled,
        stale=stale,
        host_total=hosts,
        service_total=len(engine.status) - hosts,
        clusters=kube_clusters(engine, problems),
    )
    return ov


_OVERVIEW = "web.ui.overview"  # Engine.memo keys: (key, time, Overview) and (key, count)
_UNHANDLED = "web.ui.unhandled"


def live_marker(site: Any) -> tuple[int, int]:
    """What moves when a live page would show something else: events (with every remote's
    cache version) and the number of objects. A page carries the one it was rendered at."""
    engine: Engine = site.engine
    return engine.counters.events + site.central.version(), len(engine.status)


def unhandled_count(engine: Engine) -> int:
    """The headline number (page titles, the badge, live polling). It only changes with an
    event (state change, ack, downtime) or an object added/removed, so it is memoised on those."""
    key = (engine.counters.events, len(engine.status))
    memo: tuple[tuple[int, ...], int] | None = engine.memo.get(_UNHANDLED)
    if memo is not None and memo[0] == key:
        return memo[1]
    handled = engine.handled
    value = sum(1 for st in engine.status.values() if st.state and st.checked and not handled(st))
    engine.memo[_UNHANDLED] = (key, value)
    return value


# ---------------------------------------------------------------------- problems
@dataclass(frozen=True, slots=True)
class ProblemFilter:
    """The problem list's filters, as kept in the URL (so a view can be bookmarked)."""

    states: tuple[str, ...] = ()
    host: str = ""
    service: str = ""
    labels: tuple[tuple[str, str], ...] = ()
    cluster: str = ""
    namespace: str = ""
    handled: str = "all"  # all | no | yes
    state_type: str = ""  # "" | soft | hard
    kind: str = ""  # "" | hosts | services
    stale: bool = False
    page: int = 1

    def query(self, **changes: object) -> str:
        """The URL query string of this filter with ``changes`` applied (page resets to 1)."""
        values: dict[str, object] = {
            "state": list(self.states),
            "host": self.host,
            "service": self.service,
            "label": [f"{k}={v}" for k, v in self.labels],
            "cluster": self.cluster,
            "namespace": self.namespace,
            "handled": self.handled if self.handled != "all" else "",
            "type": self.state_type,
            "kind": self.kind,
            "stale": "1" if self.stale else "",
            "page": "",
        }
        values.update(changes)
        pairs: list[tuple[str, object]] = []
        for key, value in values.items():
            if isinstance(value, list):
                pairs.extend((key, v) for v in value)
            elif key == "page":
                if isinstance(value, int) and value > 1:
                    pairs.append((key, value))
            elif value:
                pairs.append((key, value))
        return urlencode(pairs)

    @property
    def active(self) -> bool:
        return self.query() != ""


def parse_filter(params: list[tuple[str, str]]) -> tuple[ProblemFilter, list[str]]:
    """A filter from query parameters, and the problems with them (shown, not fatal)."""
    errors: list[str] = []
    states: list[str] = []
    labels: list[tuple[str, str]] = []
    single: dict[str, str] = {}
    for key, value in params:
        value = value.strip()
        if key == "state":
            for part in value.lower().split(","):
                if part in STATE_FILTER:
                    states.append(part)
                elif part:
                    errors.append(f"state: unknown state {part!r}")
        elif key == "label":
            k, sep, v = value.partition("=")
            if sep and k:
                labels.append((k, v))
            elif value:
                errors.append(f"label: {value!r} is not key=value")
        else:
            single[key] = value
    handled = single.get("handled", "all") or "all"
    if handled not in ("all", "no", "yes"):
        errors.append(f"handled: expected all, no or yes, not {handled!r}")
        handled = "all"
    state_type = single.get("type", "")
    if state_type not in ("", "soft", "hard"):
        errors.append(f"type: expected soft or hard, not {state_type!r}")
        state_type = ""
    kind = single.get("kind", "")
    if kind not in ("", "hosts", "services"):
        errors.append(f"kind: expected hosts or services, not {kind!r}")
        kind = ""
    page_text = single.get("page", "1") or "1"
    page = (
        int(page_text) if page_text.isascii() and page_text.isdigit() and int(page_text) > 0 else 1
    )
    return (
        ProblemFilter(
            states=tuple(dict.fromkeys(states)),
            host=single.get("host", ""),
            service=single.get("service", ""),
            labels=tuple(labels),
            cluster=single.get("cluster", ""),
            namespace=single.get("namespace", ""),
            handled=handled,
            state_type=state_type,
            kind=kind,
            stale=single.get("stale", "") in ("1", "yes", "true"),
            page=page,
        ),
        errors,
    )


@dataclass(slots=True)
class ProblemPage:
    rows: list[Status]
    total: int
    unhandled: int
    page: int
    pages: int


def _matches(engine: Engine, st: Status, f: ProblemFilter, wanted: set[int] | None) -> bool:
    if (f.kind == "hosts" and st.service) or (f.kind == "services" and not st.service):
        return False
    if wanted is not None and st.state not in wanted:
        return False
    if f.state_type and st.state_type != f.state_type:
        return False
    if f.stale and not st.stale:
        return False
    if f.host and f.host.lower() not in st.host.lower():
        return False
    if f.service and f.service.lower() not in st.service.lower():
        return False
    if f.labels or f.cluster or f.namespace:
        host_labels = engine.hosts[st.host].labels
        own = st.cfg.labels if st.cfg is not None else {}
        if f.cluster and host_labels.get(K_CLUSTER) != f.cluster:
            return False
        if f.namespace and host_labels.get(K_NAMESPACE) != f.namespace:
            return False
        if any(own.get(k, host_labels.get(k)) != v for k, v in f.labels):
            return False
    if f.handled != "all":
        return engine.handled(st) == (f.handled == "yes")
    return True


def problems(engine: Engine, f: ProblemFilter, page_size: int) -> ProblemPage:
    """Hosts not UP and services not OK matching ``f``: unhandled first, then worst, then
    oldest; one page of them."""
    wanted = _wanted_states(f)
    found = [
        st
        for st in engine.status.values()
        if st.state and st.checked and _matches(engine, st, f, wanted)
    ]
    handled = engine.handled
    keyed = [
        (
            handled(st),
            (_HOST_RANK if not st.service else _RANK).get(st.state, 3),
            st.last_state_change,
            st.host,
            st.service,
            st,
        )
        for st in found
    ]
    keyed.sort(key=lambda k: k[:5])
    unhandled = sum(1 for k in keyed if not k[0])
    pages = max(1, -(-len(keyed) // page_size))
    page = min(f.page, pages)
    start = (page - 1) * page_size
    rows = [k[5] for k in keyed[start : start + page_size]]
    return ProblemPage(rows=rows, total=len(keyed), unhandled=unhandled, page=page, pages=pages)


def _wanted_states(f: ProblemFilter) -> set[int] | None:
    if not f.states:
        return None
    return {STATE_FILTER[s] for s in f.states}


# ---------------------------------------------------------------------- search
@dataclass(frozen=True, slots=True)
class Hit:
    kind: str  # host | service
    host: str
    service: str
    state: str
    label: str
    why: str  # what matched: name or a label


def search(engine: Engine, text: str, limit: int = 20) -> list[Hit]:
    """Hosts and services whose name, or one of whose labels (``key=value``), contains
    ``text`` (case-insensitive); hosts first, then services, at most ``limit``."""
    needle = text.strip().lower()
    if not needle:
        return []
    hits: list[Hit] = []
    for cfg in engine.hosts.values():
        why = _why(cfg.name, cfg.labels, needle)
        if why:
            st = engine.status[(cfg.name, "")]
            hits.append(Hit("host", cfg.name, "", css_state(st), label_of(st), why))
            if len(hits) >= limit:
                return hits
    for (host, name), scfg in engine.services.items():
        if needle in name.lower():
            why = "name"
        elif scfg.labels:
            why = _why(name, scfg.labels, needle)
        else:
            continue
        if why:
            st = engine.status[(host, name)]
            hits.append(Hit("service", host, name, css_state(st), label_of(st), why))
            if len(hits) >= limit:
                break
    return hits


def _why(name: str, labels: dict[str, str], needle: str) -> str:
    if needle in name.lower():
        return "name"
    for k, v in labels.items():
        if needle in f"{k}={v}".lower():
            return f"{k}={v}"
    return ""
