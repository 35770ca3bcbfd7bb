"""``POST /api/v1/results`` over real HTTP: single and batched results, partial acceptance,
validation with field paths, limits and roles."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest
from webapi import SMALL_BATCH, SMALL_BODY, Api, locs, problem_of, site_pair, unique, wait_for

from livesite import LiveSite

pytestmark = pytest.mark.integration


# Every test here runs twice: against the site serving results itself (the shared sites of
# tests/web, ingest_fronts = 0) and against sites whose ingest fronts serve them (two front
# processes): the answers must be the same.
@pytest.fixture(scope="module", params=["in-process", "fronts"])
def _pair(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, LiveSite]]:
    if request.param == "in-process":
        yield request.getfixturevalue("_sites")
        return
    with site_pair(tmp_path_factory.mktemp("fronts"), ingest_fronts=2) as sites:
        yield sites


@pytest.fixture(scope="module")
def site(_pair: dict[str, LiveSite]) -> LiveSite:
    return _pair["main"]


@pytest.fixture(scope="module")
def small_site(_pair: dict[str, LiveSite]) -> LiveSite:
    return _pair["small"]


@pytest.fixture(scope="module")
def admin(site: LiveSite) -> Iterator[httpx.Client]:
    with site.client() as client:
        yield client


@pytest.fixture(scope="module")
def api(site: LiveSite, admin: httpx.Client) -> Api:
    return Api(site, admin)


@pytest.fixture(scope="module")
def viewer(site: LiveSite, api: Api) -> Iterator[httpx.Client]:
    with site.client(api.token("viewer")) as client:
        yield client


@pytest.fixture(scope="module")
def operator(site: LiveSite, api: Api) -> Iterator[httpx.Client]:
    with site.client(api.token("operator")) as client:
        yield client


def test_single_result_object(api: Api, admin: httpx.Client) -> None:
    host, svc = api.host_with_service("cpu", attempts=3)
    r = admin.post(
        "/api/v1/results", json={"host": host, "service": svc, "state": 2, "summary": "CPU 99%"}
    )
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/json")
    assert r.json() == {"accepted": 1, "rejected": 0}
    view = api.svc(host, svc)
    assert (view["state"], view["state_name"], view["state_type"], view["attempt"]) == (
        2,
        "CRIT",
        "soft",
        1,
    )
    assert view["summary"] == "CPU 99%"
    assert view["checked"] is True
    assert view["acknowledged"] is False
    assert view["in_downtime"] is False
    assert view["flapping"] is False
    assert view["last_state_change"] == view["last_check"]


def test_soft_then_hard_then_recovery(api: Api) -> None:
    host, svc = api.host_with_service("disk", attempts=3)
    seen = []
    for state in (1, 1, 1, 1, 0):
        api.result(host, svc, state)
        v = api.svc(host, svc)
        seen.append((v["state"], v["state_type"], v["attempt"]))
    assert seen == [(1, "soft", 1), (1, "soft", 2), (1, "hard", 3), (1, "hard", 3), (0, "hard", 1)]


def test_batch_of_results(api: Api) -> None:
    host = api.host()
    names = [f"svc{i}" for i in range(20)]
    for n in names:
        api.service(host, n, max_check_attempts=1)
    r = api.submit(
        *({"host": host, "service": n, "state": i % 4, "summary": n} for i, n in enumerate(names))
    )
    assert r.status_code == 200, r.text
    assert r.json() == {"accepted": 20, "rejected": 0}
    for i, n in enumerate(names):
        v = api.svc(host, n)
        assert (v["state"], v["summary"], v["state_type"]) == (i % 4, n, "hard")


def test_later_result_in_a_batch_wins(api: Api) -> None:
    host, svc = api.host_with_service()
    r = api.submit(
        {"host": host, "service": svc, "state": 2},
        {"host": host, "service": svc, "state": 1, "summary": "last"},
    )
    assert r.status_code == 200
    assert api.svc(host, svc)["summary"] == "last"
    assert api.svc(host, svc)["state"] == 1


@pytest.mark.parametrize(
    ("state", "name", "number"),
    [
        (1, "DOWN", 1),
        ("DOWN", "DOWN", 1),
        ("unreachable", "UNREACHABLE", 2),
        ("up", "UP", 0),
        (0, "UP", 0),
        ("2", "UNREACHABLE", 2),
    ],
)
def test_host_results(api: Api, state: int | str, name: str, number: int) -> None:
    host = api.host()
    api.result(host, None, state, summary="ping")
    v = api.get_host(host)
    assert (v["state"], v["state_name"], v["summary"]) == (number, name, "ping")


def test_host_result_with_empty_service(api: Api) -> None:
    host = api.host()
    api.result(host, "", "DOWN")
    assert api.get_host(host)["state_name"] == "DOWN"


@pytest.mark.parametrize(
    ("state", "number"),
    [
        ("CRIT", 2),
        ("crit", 2),
        ("critical", 2),
        ("warning", 1),
        ("WARN", 1),
        ("Ok", 0),
        ("UNKNOWN", 3),
        (" warn ", 1),
        ("3", 3),
    ],
)
def test_state_names(api: Api, state: str, number: int) -> None:
    host, svc = api.host_with_service()
    api.result(host, svc, state)
    assert api.svc(host, svc)["state"] == number


@pytest.mark.parametrize(
    ("service", "state"),
    [
        ("svc", 4),
        ("svc", -1),
        ("svc", "DOWN"),
        ("svc", "bad"),
        (None, 3),
        (None, "CRIT"),
        ("svc", True),
        ("svc", 1.5),
        ("svc", None),
    ],
)
def test_bad_states_are_rejected_at_state(api: Api, service: str | None, state: object) -> None:
    host, svc = api.host_with_service("svc")
    item: dict[str, object] = {"host": host, "state": state}
    if service:
        item["service"] = service
    problem = problem_of(api.submit(item), 422)
    assert locs(problem) == [["results", 0, "state"]]
    assert problem["accepted"] == 0
    assert problem["rejected"] == 1
    assert api.svc(host, svc)["checked"] is False
    assert api.get_host(host)["last_check"] is None  # no host result was taken


def test_flapping_shows_in_the_view(api: Api) -> None:
    host, svc = api.host_with_service(attempts=1)
    for i in range(12):
        api.result(host, svc, 2 if i % 2 else 0)
    v = api.svc(host, svc)
    assert v["flapping"] is True
    assert v["percent_state_change"] >= 20
    [start] = api.events(host=host, type="flapping_start")
    assert start["service"] == svc
    for _ in range(21):
        api.result(host, svc, 0)
    assert api.svc(host, svc)["flapping"] is False
    assert len(api.events(host=host, type="flapping_stop")) == 1


def test_silent_service_goes_stale(api: Api) -> None:
    host = api.host()
    svc = api.service(host, "heartbeat", check_interval=0.2, stale_after=1, max_check_attempts=1)
    api.result(host, svc, 0, summary="alive")
    v = wait_for(lambda: (v := api.svc(host, svc))["stale"] and v, timeout=5)
    assert (v["state_name"], v["state_type"]) == ("UNKNOWN", "hard")
    assert "No result" in v["summary"]
    api.result(host, svc, 0, summary="back")
    v = api.svc(host, svc)
    assert (v["stale"], v["state"], v["summary"]) == (False, 0, "back")


def test_perfdata_becomes_metrics(api: Api) -> None:
    host, svc = api.host_with_service("Filesystem /var")
    api.result(
        host,
        svc,
        1,
        summary="disk 85%",
        perfdata="used=85%;80;95;0;100 'free space'=1.5GB;;;0 inodes=1200",
    )
    v = api.svc(host, svc)
    assert v["metrics"] == [
        {
            "name": "used",
            "value": 85.0,
            "unit": "%",
            "warn": 80.0,
            "crit": 95.0,
            "min": 0.0,
            "max": 100.0,
        },
        {
            "name": "free space",
            "value": 1.5,
            "unit": "GB",
            "warn": None,
            "crit": None,
            "min": 0.0,
            "max": None,
        },
        {
            "name": "inodes",
            "value": 1200.0,
            "unit": "",
            "warn": None,
            "crit": None,
            "min": None,
            "max": None,
        },
    ]
    # the next result's metrics replace them; a result without any keeps the last ones
    api.result(host, svc, 0, perfdata="used=10%")
    assert [m["value"] for m in api.svc(host, svc)["metrics"]] == [10.0]
    api.result(host, svc, 0)
    assert [m["value"] for m in api.svc(host, svc)["metrics"]] == [10.0]


def test_structured_metrics(api: Api) -> None:
    host, svc = api.host_with_service()
    api.result(
        host,
        svc,
        0,
        metrics=[{"name": "rps", "value": 12.5, "unit": "/s", "crit": 100}],
        perfdata="lat=3ms",
    )
    assert {m["name"]: m["value"] for m in api.svc(host, svc)["metrics"]} == {
        "lat": 3.0,
        "rps": 12.5,
    }


def test_plugin_output_is_split(api: Api) -> None:
    host, svc = api.host_with_service("http")
    output = (
        "HTTP WARNING - 1.2 s response | time=1.2s;1;2;0 size=512B\n"
        "second line\nthird line | more=7\nmore2=8"
    )
    api.result(host, svc, 1, output=output)
    v = api.svc(host, svc)
    assert v["summary"] == "HTTP WARNING - 1.2 s response"
    assert v["long_output"] == "second line\nthird line"
    assert {m["name"]: m["value"] for m in v["metrics"]} == {
        "time": 1.2,
        "size": 512.0,
        "more": 7.0,
        "more2": 8.0,
    }


def test_output_without_perfdata(api: Api) -> None:
    host, svc = api.host_with_service()
    api.result(host, svc, 0, output="OK - fine\ndetails")
    v = api.svc(host, svc)
    assert (v["summary"], v["long_output"], v["metrics"]) == ("OK - fine", "details", [])


def test_long_output_field(api: Api) -> None:
    host, svc = api.host_with_service()
    api.result(host, svc, 0, summary="s", long_output="l1\nl2")
    assert api.svc(host, svc)["long_output"] == "l1\nl2"


def test_partial_batch_is_207_and_applies_only_good_items(api: Api) -> None:
    host = api.host()
    for n in ("good1", "badperf", "good2", "badtime"):
        api.service(host, n, max_check_attempts=1)
    r = api.submit(
        {"host": host, "service": "good1", "state": 2},
        {"host": unique("nohost"), "service": "x", "state": 0},
        {"host": host, "service": "badperf", "state": 2, "perfdata": "x=abc"},
        {"host": host, "service": "missing", "state": 0},
        {"host": host, "service": "good2", "state": "warning"},
        {"host": host, "service": "badtime", "state": 2, "checked_at": "yesterday"},
        {"host": host, "service": "good1", "state": "sideways"},
        {"host": host, "state": 0, "extra": True},
    )
    assert r.status_code == 207, r.text
    assert r.headers["content-type"].startswith("application/json")
    body = r.json()
    assert (body["accepted"], body["rejected"]) == (2, 6)
    errors = {e["index"]: e for e in body["errors"]}
    assert sorted(errors) == [1, 2, 3, 5, 6, 7]
    assert errors[1]["loc"] == ["results", 1, "host"]
    assert errors[2]["loc"] == ["results", 2, "perfdata"]
    assert errors[3]["loc"] == ["results", 3, "service"]
    assert errors[5]["loc"] == ["results", 5, "checked_at"]
    assert errors[6]["loc"] == ["results", 6, "state"]
    assert errors[7]["loc"] == ["results", 7, "extra"]
    assert "extra" in errors[7]["msg"]
    assert all(e["msg"] for e in body["errors"])
    assert api.svc(host, "good1")["state"] == 2
    assert api.svc(host, "good2")["state"] == 1
    for rejected in ("badperf", "badtime"):
        v = api.svc(host, rejected)
        assert v["checked"] is False, v
        assert v["metrics"] == []
    assert api.get_host(host)["last_check"] is None  # no host result was taken


def test_partial_batch_of_mixed_types(api: Api) -> None:
    host, svc = api.host_with_service()
    r = api.submit(
        {"host": host, "service": svc, "state": 1},
        {"host": 5, "service": svc, "state": 0},
        {"host": host, "service": svc, "state": 0, "summary": ["a"]},
        {"host": host, "service": svc, "state": 0, "metrics": [{"name": "m", "value": "x"}]},
        "not an object",
        {"service": svc, "state": 0},
    )
    assert r.status_code == 207, r.text
    errors = {e["index"]: e["loc"] for e in r.json()["errors"]}
    assert errors[1] == ["results", 1, "host"]
    assert errors[2] == ["results", 2, "summary"]
    assert errors[3] == ["results", 3, "metrics", 0, "value"]
    assert errors[4] == ["results", 4]
    assert errors[5][:2] == ["results", 5]
    assert api.svc(host, svc)["state"] == 1


def test_none_accepted_is_422(api: Api) -> None:
    host, svc = api.host_with_service()
    problem = problem_of(
        api.submit(
            {"host": host, "service": svc, "state": 9},
            {"host": host, "service": "nope", "state": 0},
        ),
        422,
    )
    assert (problem["accepted"], problem["rejected"]) == (0, 2)
    assert [e["index"] for e in problem["errors"]] == [0, 1]
    assert locs(problem) == [["results", 0, "state"], ["results", 1, "service"]]
    assert api.svc(host, svc)["checked"] is False


def test_single_object_errors_have_no_results_prefix(api: Api, admin: httpx.Client) -> None:
    host, svc = api.host_with_service()
    problem = problem_of(
        admin.post("/api/v1/results", json={"host": host, "service": svc, "state": "nope"}), 422
    )
    assert locs(problem) == [["state"]]


@pytest.mark.parametrize(
    ("extra", "loc"),
    [
        ({"bogus": 1}, ["results", 0, "bogus"]),
        ({"metrics": [{"name": "x", "value": 1, "typo": 2}]}, ["results", 0, "metrics", 0, "typo"]),
    ],
)
def test_unknown_fields_are_named_with_their_location(
    api: Api, extra: dict[str, object], loc: list[str | int]
) -> None:
    host, svc = api.host_with_service()
    problem = problem_of(api.submit({"host": host, "service": svc, "state": 0, **extra}), 422)
    assert locs(problem) == [loc]
    assert problem["detail"].startswith(f"no result accepted: {'.'.join(map(str, loc))}: ")
    assert f"`{loc[-1]}`" in problem["detail"]


def test_unknown_fields_next_to_results_are_refused(api: Api, admin: httpx.Client) -> None:
    host, svc = api.host_with_service()
    body = {"results": [{"host": host, "service": svc, "state": 2}], "extra": True}
    problem = problem_of(admin.post("/api/v1/results", json=body), 422)
    assert locs(problem) == [["extra"]]
    assert problem["detail"] == "invalid body: extra: Object contains unknown field `extra`"
    assert api.svc(host, svc)["checked"] is False


@pytest.mark.parametrize(
    ("content", "loc"),
    [
        (b'{"results": [', None),
        (b"not json", None),
        (b"", None),
        (b'{"results": "x"}', ["results"]),
        (b'{"results": {}}', ["results"]),
        (b"[1, 2]", None),
        (b'{"results": []}', None),
    ],
)
def test_bad_bodies_are_422(admin: httpx.Client, content: bytes, loc: list[str] | None) -> None:
    r = admin.post("/api/v1/results", content=content, headers={"content-type": "application/json"})
    problem = problem_of(r, 422)
    assert problem["errors"]
    if loc is not None:
        assert locs(problem) == [loc]


def test_checked_at(api: Api) -> None:
    host, svc = api.host_with_service()
    now = time.time()
    iso = datetime.fromtimestamp(now - 30, tz=UTC).isoformat()
    for when in (now - 3600, now + 60, iso, str(now)):
        r = api.submit({"host": host, "service": svc, "state": 0, "checked_at": when})
        assert r.status_code == 200, (when, r.text)
    for when in (now + 3600, "2020-01-01T00:00:00", "soon", True):
        problem = problem_of(
            api.submit({"host": host, "service": svc, "state": 2, "checked_at": when}), 422
        )
        assert locs(problem) == [["results", 0, "checked_at"]], when
    assert api.svc(host, svc)["state"] == 0


def test_summary_length_limit(api: Api) -> None:
    host, svc = api.host_with_service()
    problem = problem_of(
        api.submit({"host": host, "service": svc, "state": 0, "summary": "x" * 5000}), 422
    )
    assert locs(problem) == [["results", 0, "summary"]]
    api.result(host, svc, 0, summary="x" * 4096)


def test_auth_and_roles(
    site: LiveSite, api: Api, viewer: httpx.Client, operator: httpx.Client
) -> None:
    host, svc = api.host_with_service()
    body = {"results": [{"host": host, "service": svc, "state": 2}]}
    r = httpx.post(f"{site.url}/api/v1/results", json=body)
    assert problem_of(r, 401)
    assert r.headers["www-authenticate"] == "Bearer"
    problem_of(
        httpx.post(
            f"{site.url}/api/v1/results", json=body, headers={"Authorization": "Bearer lk_wrong"}
        ),
        401,
    )
    problem_of(
        httpx.post(
            f"{site.url}/api/v1/results",
            json=body,
            headers={"Authorization": f"Basic {site.token}"},
        ),
        401,
    )
    # authentication comes before validation: no hints for strangers
    problem_of(httpx.post(f"{site.url}/api/v1/results", content=b"{"), 401)
    problem_of(viewer.post("/api/v1/results", json=body), 403)
    assert api.svc(host, svc)["checked"] is False
    r = operator.post("/api/v1/results", json=body)
    assert r.status_code == 200, r.text
    assert api.svc(host, svc)["state"] == 2


# ---------------------------------------------------------------------- limits
@pytest.fixture
def small(small_site: LiveSite) -> Iterator[httpx.Client]:
    with small_site.client() as client:
        yield client


def _small_service(small: httpx.Client) -> tuple[str, str]:
    host = unique()
    assert small.post("/api/v1/hosts", json={"name": host}).status_code == 201
    assert small.post(f"/api/v1/hosts/{host}/services", json={"name": "s"}).status_code == 201
    return host, "s"


def test_body_over_the_limit_is_413(small: httpx.Client) -> None:
    host, svc = _small_service(small)
    ok = {"results": [{"host": host, "service": svc, "state": 1, "summary": "x" * 100}]}
    assert small.post("/api/v1/results", json=ok).status_code == 200
    big = {"results": [{"host": host, "service": svc, "state": 2, "summary": "x" * SMALL_BODY}]}
    problem = problem_of(small.post("/api/v1/results", json=big), 413)
    assert str(SMALL_BODY) in problem["detail"]
    # the connection stays usable and nothing was applied
    r = small.get(f"/api/v1/hosts/{host}/services/{svc}")
    assert r.json()["state"] == 1


def _chunks(host: str) -> Iterator[bytes]:
    """A body over the limit, sent chunked (no Content-Length to refuse it by)."""
    yield b'{"results": [{"host": "%s", "service": "s", "state": 2, "summary": "' % host.encode()
    for _ in range(10):
        yield b"x" * 500
    yield b'"}]}'


def test_streamed_body_over_the_limit_is_413(small: httpx.Client) -> None:
    host, svc = _small_service(small)
    problem_of(small.post("/api/v1/results", content=_chunks(host)), 413)
    r = small.get(f"/api/v1/hosts/{host}/services/{svc}")
    assert r.json()["checked"] is False


def test_streamed_body_over_the_limit_is_413_on_fastapi_routes(small: httpx.Client) -> None:
    r = small.post(
        "/api/v1/hosts", content=_chunks(unique()), headers={"content-type": "application/json"}
    )
    problem_of(r, 413)


def test_other_routes_have_the_body_limit(small: httpx.Client) -> None:
    r = small.post("/api/v1/hosts", json={"name": unique(), "address": "x" * SMALL_BODY})
    problem_of(r, 413)
    assert small.get("/api/v1/hosts").status_code == 200


def test_too_many_results_in_one_request_is_413(small: httpx.Client) -> None:
    host, svc = _small_service(small)
    item = {"host": host, "service": svc, "state": 0}
    assert small.post("/api/v1/results", json={"results": [item] * SMALL_BATCH}).status_code == 200
    problem_of(small.post("/api/v1/results", json={"results": [item] * (SMALL_BATCH + 1)}), 413)


def test_other_methods_on_results_are_405(admin: httpx.Client) -> None:
    r = admin.get("/api/v1/results")
    problem = problem_of(r, 405)
    assert r.headers["allow"] == "POST"
    assert "POST" in problem["detail"]
