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
