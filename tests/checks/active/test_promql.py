"""The promql check against a real Prometheus (Debian's): scalars and vectors judged by their
levels, the worst series named with its labels, empty answers, refused queries, no server."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from urllib.parse import quote

import pydantic
import pytest

from amserver import wait_for
from livesite import LiveSite, free_port
from lookout.checks.active import CheckContext
from lookout.checks.active.promql import PromqlParams
from lookout.checks.active.registry import run_check, validate_check_config
from promserver import Prometheus, start

pytestmark = pytest.mark.integration
THREE = (
    'label_replace(vector(97), "instance", "db1:9100", "", "")'
    ' or label_replace(vector(85), "instance", "db2:9100", "", "")'
    ' or label_replace(vector(10), "instance", "db3:9100", "", "")'
)


@pytest.fixture(scope="module")
def prom(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Prometheus]:
    server = start(Path(tmp_path_factory.mktemp("prom")), [])
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
async def ctx() -> AsyncIterator[CheckContext]:
    context = CheckContext.create()
    try:
        yield context
    finally:
        await context.aclose()


def params(prom: Prometheus, query: str, **more: object) -> PromqlParams:
    config = validate_check_config({"type": "promql", "url": prom.url, "query": query, **more})
    assert isinstance(config, PromqlParams)
    return config


@pytest.mark.parametrize(
    ("value", "state", "label"), [(50, 0, "OK"), (85, 1, "WARNING"), (95, 2, "CRITICAL")]
)
async def test_scalar_against_levels(
    prom: Prometheus, ctx: CheckContext, value: int, state: int, label: str
) -> None:
    out = await run_check(params(prom, f"scalar(vector({value}))", levels=[80, 90]), "", ctx)
    assert out.state == state
    assert out.summary == f"PromQL {label} - {{}} = {value}"
    assert [(m.name, m.value, m.warn, m.crit) for m in out.metrics] == [("value", value, 80, 90)]


async def test_vector_takes_the_worst_series_and_names_it(
    prom: Prometheus, ctx: CheckContext
) -> None:
    out = await run_check(params(prom, THREE, levels=[80, 90], unit="%"), "", ctx)
    assert out.state == 2
    assert out.summary == 'PromQL CRITICAL - {instance="db1:9100"} = 97% (3 series, 1 more not OK)'
    assert out.long_output.splitlines() == [
        'CRITICAL: {instance="db1:9100"} = 97%',
        'WARNING: {instance="db2:9100"} = 85%',
        'OK: {instance="db3:9100"} = 10%',
    ]
    assert [(m.name, m.value) for m in out.metrics] == [
        ("instance:db1:9100", 97),
        ("instance:db2:9100", 85),
        ("instance:db3:9100", 10),
    ]
    low = await run_check(params(prom, THREE, levels_lower=[50, 20]), "", ctx)
    assert low.state == 2
    assert low.summary.startswith('PromQL CRITICAL - {instance="db3:9100"} = 10')


async def test_empty_unknown_by_default_or_as_configured(
    prom: Prometheus, ctx: CheckContext
) -> None:
    out = await run_check(params(prom, "vector(1) > 5"), "", ctx)
    assert (out.state, out.summary) == (3, "PromQL UNKNOWN - no series for the query")
    out = await run_check(params(prom, "vector(1) > 5", if_empty="OK"), "", ctx)
    assert out.state == 0


async def test_refused_query_and_absent_server_are_unknown(
    prom: Prometheus, ctx: CheckContext
) -> None:
    out = await run_check(params(prom, "rate(x[5m]"), "", ctx)
    assert out.state == 3
    assert "parse error" in out.summary
    out = await run_check(params(prom, "vector(1)[5m:1m]"), "", ctx)
    assert out.summary.startswith("PromQL UNKNOWN - the query returns a matrix")
    gone = PromqlParams(url=f"http://127.0.0.1:{free_port()}", query="up", timeout=2)
    out = await run_check(gone, "", ctx)
    assert out.state == 3
    assert "Connection refused" in out.summary


def test_levels_are_validated() -> None:
    with pytest.raises(pydantic.ValidationError) as info:
        validate_check_config(
            {"type": "promql", "url": "http://p:9090", "query": "up", "levels": [90, 80]}
        )
    assert info.value.errors()[0]["loc"] == ("levels",)
    with pytest.raises(pydantic.ValidationError) as info:
        validate_check_config({"type": "promql", "url": "prometheus", "query": "up"})
    assert info.value.errors()[0]["loc"] == ("url",)


def test_a_site_runs_the_check(prom: Prometheus, live_site: LiveSite) -> None:
    check = {"type": "promql", "url": prom.url, "query": THREE, "levels": [80, 90]}
    with live_site.client() as c:
        c.post("/api/v1/hosts", json={"name": "db"}).raise_for_status()
        r = c.post(
            "/api/v1/hosts/db/services",
            json={"name": "Disk used", "check": check, "check_interval": 1},
        )
        assert r.status_code == 201, r.text

        def result() -> dict[str, object] | None:
            st: dict[str, object] = c.get(f"/api/v1/hosts/db/services/{quote('Disk used')}").json()
            return st if st.get("last_check") else None

        st = wait_for("the check's first result", result)
        assert st["state_name"] == "CRIT"
        assert str(st["summary"]).startswith('PromQL CRITICAL - {instance="db1:9100"} = 97')
        assert time.time() - float(st["last_check"]) < 60  # type: ignore[arg-type]


async def test_per_series_gives_one_outcome_per_series(prom: Prometheus, ctx: CheckContext) -> None:
    out = await run_check(params(prom, THREE, levels=[80, 90], per_series=True), "", ctx)
    assert (out.state, out.summary) == (0, "PromQL OK - 3 series, 1 WARNING, 1 CRITICAL")
    assert out.series is not None
    assert [(s.labels, s.state, s.summary) for s in out.series] == [
        ((("instance", "db1:9100"),), 2, 'PromQL CRITICAL - {instance="db1:9100"} = 97'),
        ((("instance", "db2:9100"),), 1, 'PromQL WARNING - {instance="db2:9100"} = 85'),
        ((("instance", "db3:9100"),), 0, 'PromQL OK - {instance="db3:9100"} = 10'),
    ]
    assert [(m.name, m.value, m.warn) for m in out.series[0].metrics] == [("value", 97, 80)]
    few = await run_check(params(prom, THREE, per_series=True, max_series=2), "", ctx)
    assert few.series is not None
    assert len(few.series) == 2
    assert few.summary == "PromQL OK - 2 series; 1 more not kept (max_series 2)"


def test_a_site_makes_a_service_per_series(prom: Prometheus, live_site: LiveSite) -> None:
    """Each series is a service of its own on the check's host, depending on the check's
    service; a series the query stops returning gets the if_empty state."""
    check = {"type": "promql", "url": prom.url, "query": THREE, "levels": [80, 90]}
    check |= {"per_series": True, "if_empty": "OK"}
    with live_site.client() as c:
        c.post("/api/v1/hosts", json={"name": "db"}).raise_for_status()
        r = c.post(
            "/api/v1/hosts/db/services",
            json={"name": "Disk used", "check": check, "check_interval": 1},
        )
        assert r.status_code == 201, r.text

        def series() -> dict[str, dict[str, object]] | None:
            items = c.get("/api/v1/services", params={"host": "db"}).json()["items"]
            made = {s["name"]: s for s in items if s["name"] != "Disk used"}
            return (
                made if len(made) == 3 and all(s.get("last_check") for s in made.values()) else None
            )

        made = wait_for("three series services", series)
        db1 = made['Disk used {instance="db1:9100"}']
        assert (db1["state_name"], db1["summary"]) == (
            "CRIT",
            'PromQL CRITICAL - {instance="db1:9100"} = 97',
        )
        assert db1["labels"] == {
            "lookout/source": "promql",
            "lookout/series-of": "Disk used",
            "promql/instance": "db1:9100",
        }
        assert made['Disk used {instance="db2:9100"}']["state_name"] == "WARN"
        own = c.get(f"/api/v1/hosts/db/services/{quote('Disk used')}").json()
        assert own["state_name"] == "OK"
        assert own["summary"].startswith("PromQL OK - 3 series")

        one = 'label_replace(vector(97), "instance", "db1:9100", "", "")'
        patched = c.patch(
            f"/api/v1/hosts/db/services/{quote('Disk used')}",
            json={"check": check | {"query": one}},
        )
        assert patched.status_code == 200, patched.text

        db3 = quote('Disk used {instance="db3:9100"}')

        def gone() -> dict[str, object] | None:
            path = f"/api/v1/hosts/db/services/{db3}"
            st: dict[str, object] = c.get(path).json()
            return st if st["summary"] == "PromQL - no longer returned by the query" else None

        assert wait_for("db3's series gone", gone)["state_name"] == "OK"

        c.delete(f"/api/v1/hosts/db/services/{quote('Disk used')}").raise_for_status()
        assert c.get("/api/v1/services", params={"host": "db"}).json()["items"] == []
