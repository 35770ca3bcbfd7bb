"""Where the UI meets features built elsewhere (push agent #3, Kubernetes #4, notifications #5).

Each function here is the one place a page asks for that feature's data, so connecting a feature
is a change to one function, not to templates. Until a feature lands they answer "nothing yet"
and the pages show a clear empty state.

- Kubernetes objects are recognised by host labels alone: ``k8s/cluster``, ``k8s/namespace``,
  ``k8s/kind`` (``cluster``, ``node``, ``namespace``, ``deployment``, ``statefulset``,
  ``daemonset``, ``job``, ``cronjob``, ``pod``), ``k8s/workload`` (a pod's owner) and
  ``k8s/name``. Any source that sets these labels gets the cluster tiles and breadcrumbs.
- Agent: ``site.agents`` (the agent receiver, issue #3, None when switched off) gives a
  host's agent status and one-time registration commands.
- Notifications: the outbox of ``site.notifier`` (issue #5), read in a thread.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from lookout.domain.objects import HostConfig
from lookout.engine.core import Engine
from lookout.engine.status import Status
from lookout.notify.spec import Channel, Rule
from lookout.notify.store import FAILED, PENDING, SENDING, SENT, Delivery

K_CLUSTER, K_NAMESPACE, K_KIND, K_WORKLOAD, K_NAME = (
    "k8s/cluster",
    "k8s/namespace",
    "k8s/kind",
    "k8s/workload",
    "k8s/name",
)


@dataclass(slots=True)
class ClusterTile:
    """One Kubernetes cluster on the overview: its objects and how many are in trouble."""

    name: str
    objects: int = 0
    problems: int = 0
    worst: int = 0
    namespaces: set[str] = field(default_factory=set)


@dataclass(frozen=True, slots=True)
class Crumb:
    """One step of a Kubernetes object's place: its kind, name, and a link to a filtered list."""

    kind: str
    name: str
    href: str


def kube_clusters(engine: Engine, problems: Iterable[Status] | None = None) -> list[ClusterTile]:
    """Clusters known from host labels, with their objects and problems (hosts and services).
    ``problems``: the statuses that are not OK, when the caller has them at hand (the overview
    collects them in its own pass); otherwise they are looked up."""
    tiles: dict[str, ClusterTile] = {}
    cluster_of: dict[str, ClusterTile] = {}
    for cfg in engine.hosts.values():
        cluster = cfg.labels.get(K_CLUSTER)
        if not cluster:
            continue
        tile = tiles.get(cluster)
        if tile is None:
            tile = tiles[cluster] = ClusterTile(cluster)
        tile.objects += 1
        ns = cfg.labels.get(K_NAMESPACE)
        if ns:
            tile.namespaces.add(ns)
        cluster_of[cfg.name] = tile
    if not cluster_of:
        return []
    if problems is None:
        problems = (st for st in engine.status.values() if st.state)
    for st in problems:
        tile = cluster_of.get(st.host)
        if tile is None:
            continue
        tile.problems += 1
        state = st.state if st.service else 2  # a host that is not UP counts as CRIT
        if _RANK[state] > _RANK[tile.worst]:
            tile.worst = state
    return sorted(tiles.values(), key=lambda t: (-_RANK[t.worst], t.name))


_RANK = {0: 0, 1: 1, 3: 2, 2: 3}
"""Badness of a state for the cluster tiles: CRIT above UNKNOWN above WARN."""


def kube_place(cfg: HostConfig) -> list[Crumb]:
    """Cluster → namespace → workload → object for a Kubernetes host; empty otherwise."""
    labels = cfg.labels
    cluster = labels.get(K_CLUSTER)
    if not cluster:
        return []
    crumbs = [Crumb("cluster", cluster, "/problems?" + urlencode({"cluster": cluster}))]
    ns = labels.get(K_NAMESPACE)
    if ns:
        crumbs.append(
            Crumb("namespace", ns, "/problems?" + urlencode({"cluster": cluster, "namespace": ns}))
        )
    workload = labels.get(K_WORKLOAD)
    if workload:
        crumbs.append(
            Crumb(
                "workload", workload, "/hosts?" + urlencode({"label": f"{K_WORKLOAD}={workload}"})
            )
        )
    kind = labels.get(K_KIND, "object")
    crumbs.append(
        Crumb(kind, labels.get(K_NAME, cfg.name), "/host?" + urlencode({"name": cfg.name}))
    )
    return crumbs


def agent_status(site: Any, host: str) -> dict[str, Any] | None:
    """The push agent panel of ``host`` (version, interval, last push, certificate expiry), or
    None when the host has no agent or the site runs no agent receiver."""
    receiver = getattr(site, "agents", None)
    if receiver is None:
        return None
    info: dict[str, Any] | None = receiver.host_status(host)
    if info is None:
        return None
    return {
        "agent_version": info["version"] or "?",
        "push_interval": f"{info['interval']:g} s",
        "last_push_at": info["last_push"],
        "certificate_expires": info["cert_not_after"],
        "state": "silent (missed pushes)" if info["stale"] else "pushing",
        "agent_id": info["uuid"],
    }


async def agent_registration(site: Any, host: str, by: str) -> dict[str, Any] | None:
    """A one-time registration token for ``host`` with the command to run there
    (``command``, ``ca_fingerprint``, ``expires_at``, ``receiver_listening``), or None when the
    site runs no agent receiver."""
    receiver = getattr(site, "agents", None)
    if receiver is None:
        return None
    reg: dict[str, Any] = await receiver.registration(host, by)
    return reg


@dataclass(frozen=True, slots=True)
class NotificationSummary:
    available: bool
    failing: int = 0
    sent_24h: int = 0
    pending: int = 0


_SUMMARY_TTL = 5.0
"""Seconds the overview reuses the outbox counts (one grouped count per TTL, not per view)."""
_summary_cache: dict[int, tuple[float, NotificationSummary]] = {}


async def notification_summary(site: Any) -> NotificationSummary:
    """Deliveries of the last 24 hours for the overview: failed, sent, waiting;
    ``available=False`` when the site runs no notifier."""
    notifier = getattr(site, "notifier", None)
    if notifier is None or not site.settings.notifications.enabled:
        return NotificationSummary(available=False)
    now = time.monotonic()
    cached = _summary_cache.get(id(site))
    if cached is not None and now - cached[0] < _SUMMARY_TTL:
        return cached[1]
    counts = await asyncio.to_thread(notifier.store.counts_since, site.clock() - 86400)
    summary = NotificationSummary(
        available=True,
        failing=counts.get(FAILED, 0),
        sent_24h=counts.get(SENT, 0),
        pending=counts.get(PENDING, 0) + counts.get(SENDING, 0),
    )
    _summary_cache[id(site)] = (now, summary)
    return summary


async def notification_deliveries(
    site: Any, *, failed_only: bool, limit: int
) -> list[dict[str, Any]]:
    """Recent deliveries, newest first: dicts with ``at``, ``host``, ``service``, ``channel``,
    ``recipient``, ``status`` (``sent``/``failed``/``pending``…), ``error``, ``attempts``,
    ``rule``, ``kind``. Empty without a notifier."""
    notifier = getattr(site, "notifier", None)
    if notifier is None:
        return []
    rows: list[Delivery] = await asyncio.to_thread(
        notifier.store.deliveries, status=FAILED if failed_only else None, limit=limit
    )
    return [
        {
            "at": d.sent_at or d.created_at,
            "host": d.host,
            "service": d.service,
            "channel": d.channel,
            "recipient": d.recipient,
            "status": d.status,
            "error": d.error,
            "attempts": d.attempts,
            "rule": d.rule,
            "kind": d.kind,
        }
        for d in rows
    ]


async def notification_setup(site: Any) -> tuple[list[Rule], list[Channel]]:
    """The notification rules (in order) and channels, for the setup page."""
    notifier = getattr(site, "notifier", None)
    if notifier is None:
        return [], []
    rules, channels = await asyncio.gather(
        asyncio.to_thread(notifier.store.rules), asyncio.to_thread(notifier.store.channels)
    )
    return rules, channels


@dataclass(frozen=True, slots=True)
class ClusterConnection:
    """A connected Kubernetes cluster as the setup page shows it."""

    name: str
    server: str
    monitoring: bool
    connected: bool
    error: str
    version: str
    hosts: int
    denied: list[str]


async def kube_connections(site: Any) -> list[ClusterConnection]:
    """The clusters connected with ``lookout kube connect`` and how their monitors are doing."""
    kube = getattr(site, "kube", None)
    if kube is None:
        return []
    out = []
    for row in await kube.rows():
        st = kube.status(row["name"])
        out.append(
            ClusterConnection(
                name=row["name"],
                server=row["server"],
                monitoring=bool(st.get("monitoring")),
                connected=bool(st.get("connected")),
                error=str(st.get("error") or ""),
                version=str(st.get("server_version") or ""),
                hosts=int(st.get("hosts") or 0),
                denied=list(st.get("denied") or []),
            )
        )
    return out


# ---------------------------------------------------------------------- Zulip accounts (#18)
def chat_available(site: Any) -> bool:
    """Whether the site runs a Zulip bot people can link their account with."""
    chatops = getattr(site, "chatops", None)
    return bool(chatops is not None and chatops.bots)


async def zulip_links(site: Any, user: str) -> list[tuple[str, int, str]]:
    """The Zulip accounts linked to ``user``: (organisation URL, user id, name)."""
    notifier = getattr(site, "notifier", None)
    if notifier is None:
        return []
    links: list[tuple[str, int, str]] = await asyncio.to_thread(notifier.store.zulip_links, user)
    return links


async def redeem_zulip_code(site: Any, code: str, user: str) -> str | None:
    """Link the Zulip account a one-time code was sent to; its name, or None (no such code)."""
    notifier = getattr(site, "notifier", None)
    if notifier is None:
        return None
    name: str | None = await asyncio.to_thread(
        notifier.store.redeem_link_code, code, user, site.clock()
    )
    return name


async def unlink_zulip(site: Any, user: str, realm: str, zulip_user_id: int) -> bool:
    notifier = getattr(site, "notifier", None)
    if notifier is None:
        return False
    done: bool = await asyncio.to_thread(notifier.store.unlink, user, realm, zulip_user_id)
    return done
