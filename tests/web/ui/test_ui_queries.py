"""The UI's views of the engine's state: overview counts, problem order and filters, search,
Kubernetes tiles and breadcrumbs (a real engine, in memory)."""

from __future__ import annotations

import pytest

from lookout.domain.handling import Ack
from lookout.domain.objects import HostConfig, ServiceConfig
from lookout.domain.results import CheckResult
from lookout.engine.core import Engine
from lookout.web.ui import integrations, queries


def _engine() -> Engine:
    e = Engine()
    hosts = [
        HostConfig(name="web", labels={"team": "shop"}),
        HostConfig(name="db", labels={"team": "data"}),
        HostConfig(
            name="pod-1",
            labels={
                "k8s/cluster": "prod",
                "k8s/namespace": "shop",
                "k8s/kind": "pod",
                "k8s/workload": "checkout",
            },
        ),
    ]
    for h in hosts:
        e.put_host(h, 0.0)
    for host, name in (("web", "http"), ("web", "disk"), ("db", "backup"), ("pod-1", "status")):
        e.put_service(ServiceConfig(host=host, name=name, max_check_attempts=1), 0.0)
    e.apply_results(
        [
            CheckResult("web", "", 0, "up"),
            CheckResult("db", "", 0, "up"),
            CheckResult("pod-1", "", 0, "up"),
            CheckResult("web", "http", 1, "slow"),
            CheckResult("web", "disk", 2, "full"),
            CheckResult("db", "backup", 2, "failed"),
            CheckResult("pod-1", "status", 3, "no data"),
        ],
        100.0,
    )
    return e


def _filter(**params: str) -> queries.ProblemFilter:
    f, errors = queries.parse_filter(list(params.items()))
    assert errors == []
    return f


def test_overview_counts_and_headline() -> None:
    e = _engine()
    e.status[("db", "backup")].ack = Ack(author="ann", comment="on it")
    ov = queries.overview(e)
    assert ov.hosts == {"up": 3, "down": 0, "unreachable": 0}
    assert ov.services == {"ok": 0, "warn": 1, "crit": 2, "unknown": 1}
    assert (ov.unhandled, ov.handled) == (3, 1)
    assert queries.unhandled_count(e) == 3


def test_problems_unhandled_first_then_worst_then_oldest() -> None:
    e = _engine()
    e.status[("web", "disk")].last_state_change = 50.0  # older than db/backup
    e.status[("pod-1", "status")].ack = Ack(author="ann", comment="known")
    page = queries.problems(e, _filter(), 100)
    order = [(st.host, st.service) for st in page.rows]
    assert order == [("web", "disk"), ("db", "backup"), ("web", "http"), ("pod-1", "status")]
    assert page.unhandled == 3


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"state": "crit"}, {("web", "disk"), ("db", "backup")}),
        ({"state": "warn,unknown"}, {("web", "http"), ("pod-1", "status")}),
        ({"host": "WE"}, {("web", "disk"), ("web", "http")}),
        ({"service": "back"}, {("db", "backup")}),
        ({"label": "team=data"}, {("db", "backup")}),
        ({"cluster": "prod"}, {("pod-1", "status")}),
        ({"cluster": "prod", "namespace": "other"}, set()),
        ({"kind": "hosts"}, set()),
        ({"type": "soft"}, set()),
    ],
)
def test_problem_filters(params: dict[str, str], expected: set[tuple[str, str]]) -> None:
    page = queries.problems(_engine(), _filter(**params), 100)
    assert {(st.host, st.service) for st in page.rows} == expected


def test_handled_filter_and_pagination() -> None:
    e = _engine()
    e.status[("web", "http")].ack = Ack(author="ann", comment="x")
    assert [st.service for st in queries.problems(e, _filter(handled="yes"), 100).rows] == ["http"]
    assert len(queries.problems(e, _filter(handled="no"), 100).rows) == 3
    page = queries.problems(e, _filter(page="2"), 3)
    assert (page.page, page.pages, len(page.rows), page.total) == (2, 2, 1, 4)
    beyond = queries.problems(e, _filter(page="9"), 3)
    assert beyond.page == 2


def test_bad_filter_values_are_reported_not_fatal() -> None:
    f, errors = queries.parse_filter(
        [("state", "purple"), ("label", "novalue"), ("handled", "maybe"), ("page", "-3")]
    )
    assert f == queries.ProblemFilter()
    assert len(errors) == 3


def test_filter_round_trips_through_the_url() -> None:
    f = _filter(state="crit", host="web", label="team=shop", handled="no", stale="1")
    again, _ = queries.parse_filter(
        [tuple(p.split("=", 1)) for p in f.query().replace("%3D", "=").split("&")]  # type: ignore[misc]
    )
    assert again == f
    assert "page=3" in f.query(page=3)


def test_search_by_name_and_label() -> None:
    e = _engine()
    hits = queries.search(e, "SHOP")
    assert [(h.kind, h.host, h.why) for h in hits] == [
        ("host", "web", "team=shop"),
        ("host", "pod-1", "k8s/namespace=shop"),
    ]
    assert [(h.host, h.service) for h in queries.search(e, "back")] == [("db", "backup")]
    assert queries.search(e, "  ") == []
    assert len(queries.search(e, "", limit=1)) == 0


def test_kubernetes_tiles_and_place_come_from_labels() -> None:
    e = _engine()
    (tile,) = integrations.kube_clusters(e)
    assert (tile.name, tile.objects, tile.problems, tile.worst) == ("prod", 1, 1, 3)
    crumbs = integrations.kube_place(e.hosts["pod-1"])
    assert [(c.kind, c.name) for c in crumbs] == [
        ("cluster", "prod"),
        ("namespace", "shop"),
        ("workload", "checkout"),
        ("pod", "pod-1"),
    ]
    assert integrations.kube_place(e.hosts["web"]) == []


async def test_feature_hooks_say_nothing_yet_without_the_feature() -> None:
    class Bare:
        pass

    assert integrations.agent_status(Bare(), "web") is None
    assert await integrations.agent_registration(Bare(), "web", "admin") is None
    assert (await integrations.notification_summary(Bare())).available is False
    assert await integrations.notification_deliveries(Bare(), failed_only=False, limit=5) == []


def test_kubernetes_links_encode_label_values() -> None:
    cfg = HostConfig(name="p", labels={"k8s/cluster": "a&b c", "k8s/namespace": "n#1"})
    hrefs = [c.href for c in integrations.kube_place(cfg)]
    assert hrefs == [
        "/problems?cluster=a%26b+c",
        "/problems?cluster=a%26b+c&namespace=n%231",
        "/host?name=p",
    ]
