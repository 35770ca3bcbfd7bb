"""Property: no request, whatever its values, can poison a site (issue 16).

Hypothesis sends arbitrary values for the fields of every kind of input (results, downtimes,
acknowledgements, comments, hosts, tokens, users) through the real API of a real site, on
SQLite and on PostgreSQL, as a careless or hostile client would (NaN, Infinity, NUL, unpaired
surrogates, huge numbers, deep nesting). After each request the site must not answer 5xx, a
clean canary result must still be accepted, and /readyz must be 200. Then checkpoints run, the
site is killed (SIGKILL) and started again: it must start, be ready, and hold every input it
acknowledged (the last canary, every host it created).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from livesite import LiveSite, make_site

pytestmark = pytest.mark.integration

HOST, FUZZ, CANARY = "prop-host", "fuzz", "canary"

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.sampled_from([1e308, -1e308, 1e300, 2**63, 253402300800.0, "NaN", "1e999", "\x00"])
    | st.text(max_size=40)
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)
texts = st.text(max_size=60) | st.sampled_from(["a\x00b", "\ud800", "x" * 5000])
times = st.sampled_from(
    [time.time() + 3600, 1e999, -1e308, 1e308, 2**63, "NaN", "-inf", "2030-01-01T00:00:00Z", -1]
) | st.floats(allow_nan=True, allow_infinity=True)


def _fields(**strategies: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    """Any subset of the fields, each with its strategy or an arbitrary value."""
    return st.fixed_dictionaries({}, optional={k: s | values for k, s in strategies.items()})


def _requests() -> st.SearchStrategy[tuple[str, dict[str, Any]]]:
    result = _fields(
        state=st.sampled_from([0, 1, 2, 3, "WARN"]),
        summary=texts,
        long_output=texts,
        output=texts,
        perfdata=texts,
        metrics=st.lists(_fields(name=texts, value=times, unit=texts, crit=times), max_size=3),
        checked_at=times,
    ).map(lambda d: {"results": [{"host": HOST, "service": FUZZ, "state": 1, **d}]})
    target = {"host": st.just(HOST), "service": st.sampled_from([FUZZ, CANARY]) | texts}
    downtime = _fields(
        **target,
        start=times,
        end=times,
        fixed=st.booleans(),
        duration=times,
        comment=texts,
        recurrence=texts,
        author=texts,
    )
    ack = _fields(**target, comment=texts, expire_at=times, sticky=st.booleans(), author=texts)
    comment = _fields(**target, comment=texts)
    host = _fields(
        name=texts,
        address=texts,
        labels=st.dictionaries(texts, texts, max_size=3),
        check=values,
        check_interval=times,
        max_check_attempts=values,
    )
    token = _fields(name=texts, role=st.sampled_from(["viewer", "operator"]), expires_at=times)
    user = _fields(name=texts, email=texts, role=st.just("viewer"))
    return st.one_of(
        st.tuples(st.just("/api/v1/results"), result),
        st.tuples(st.just("/api/v1/actions/schedule-downtime"), downtime),
        st.tuples(st.just("/api/v1/actions/acknowledge"), ack),
        st.tuples(st.just("/api/v1/actions/comment"), comment),
        st.tuples(st.just("/api/v1/hosts"), host),
        st.tuples(st.just("/api/v1/tokens"), token),
        st.tuples(st.just("/api/v1/users"), user),
    )


EVIL_TIMES = st.sampled_from(["NaN", "1e999", "-inf", 1e308, -1e308, -1, 253402300800.0, 2**63])
EVIL_TEXTS = st.sampled_from(["\x00", "a\x00b", "\ud800", "x" * 70_000, "m\x00=1"])
EVIL_NUMBERS = st.sampled_from([1e308, -1e308, 1e301, 2**63, "NaN"])
TIME_FIELDS = {"checked_at", "start", "end", "expire_at", "expires_at", "duration"}
NUMBER_FIELDS = {"value", "warn", "crit", "min"}


def _evil_for(field: str) -> st.SearchStrategy[Any]:
    if field in TIME_FIELDS:
        return EVIL_TIMES
    return EVIL_NUMBERS if field in NUMBER_FIELDS else EVIL_TEXTS


def _one_evil(valid: dict[str, Any], fields: list[str]) -> st.SearchStrategy[dict[str, Any]]:
    """``valid`` with one field set to a hostile value of its kind: the rest passes, so that
    the hostile value is what the doors (and the layers below them) must judge."""
    return st.sampled_from(fields).flatmap(lambda f: _evil_for(f).map(lambda v: {**valid, f: v}))


def _evil_requests() -> st.SearchStrategy[tuple[str, dict[str, Any]]]:
    now = time.time()
    result = {"host": HOST, "service": FUZZ, "state": 1, "summary": "s", "perfdata": "a=1"}
    downtime = {"host": HOST, "start": now, "end": now + 60, "comment": "c", "duration": 60}
    ack = {"host": HOST, "service": FUZZ, "comment": "c", "expire_at": now + 600}
    evil_result = st.tuples(
        st.just("/api/v1/results"),
        _one_evil(result, ["checked_at", "summary", "long_output", "output", "perfdata"]).map(
            lambda r: {"results": [r]}
        ),
    )
    return st.one_of(
        evil_result,
        evil_result,
        st.tuples(
            st.just("/api/v1/results"),
            _one_evil({"name": "m", "value": 1.0}, ["value", "warn", "crit", "min", "name"]).map(
                lambda m: {"results": [{**result, "perfdata": "", "metrics": [m]}]}
            ),
        ),
        st.tuples(
            st.just("/api/v1/actions/schedule-downtime"),
            _one_evil(downtime, ["start", "end", "duration", "comment", "author", "recurrence"]),
        ),
        st.tuples(
            st.just("/api/v1/actions/acknowledge"),
            _one_evil(ack, ["expire_at", "comment", "author"]),
        ),
        st.tuples(
            st.just("/api/v1/hosts"),
            _one_evil({"name": "x"}, ["name", "address"]).map(
                lambda h: {
                    **h,
                    "name": h["name"] if h["name"] != "x" else f"h{time.monotonic_ns()}",
                }
            ),
        ),
        st.tuples(st.just("/api/v1/tokens"), _one_evil({"name": "t"}, ["name", "expires_at"])),
    )


def _body(data: dict[str, Any]) -> bytes:
    """JSON as a careless client writes it: NaN and Infinity literals, surrogates escaped."""
    return json.dumps(data, allow_nan=True).encode()


def _start(tmp_path: Path, database_url: str) -> LiveSite:
    site = make_site(tmp_path / "site", database_url, tick_interval=0.2, checkpoint_interval=0.5)
    site.start()
    with site.client() as c:
        assert c.post("/api/v1/hosts", json={"name": HOST}).status_code == 201
        for svc in (FUZZ, CANARY):
            r = c.post(f"/api/v1/hosts/{HOST}/services", json={"name": svc})
            assert r.status_code == 201, r.text
    return site


def test_no_request_poisons_a_site(tmp_path: Path, database_url: str) -> None:
    site = _start(tmp_path, database_url)
    acked: dict[str, Any] = {"canary": None, "hosts": []}
    try:
        with site.client() as client:

            @settings(
                max_examples=300,
                deadline=None,
                derandomize=True,
                suppress_health_check=list(HealthCheck),
            )
            @given(request=_evil_requests() | _requests())
            def one(request: tuple[str, dict[str, Any]]) -> None:
                path, data = request
                resp = client.post(
                    path, content=_body(data), headers={"content-type": "application/json"}
                )
                assert resp.status_code < 500, (path, data, resp.text)
                if path == "/api/v1/hosts" and resp.status_code == 201:
                    acked["hosts"].append(resp.json()["name"])
                canary = f"canary {time.monotonic_ns()}"
                ok = client.post(
                    "/api/v1/results",
                    json={"host": HOST, "service": CANARY, "state": 0, "summary": canary},
                )
                assert ok.status_code == 200, (path, data, ok.text)
                acked["canary"] = canary
                assert client.get("/readyz").status_code == 200, (path, data)

            one()
        time.sleep(1.5)  # checkpoints run (every 0.5 s) with whatever was accepted
        with site.client() as client:
            assert client.get("/readyz").status_code == 200
        site.kill()
        site.start()  # must start: a poisoned checkpoint made it exit 3 before
        with site.client() as client:
            assert client.get("/readyz").status_code == 200
            svc = client.get(f"/api/v1/hosts/{HOST}/services/{CANARY}").json()
            assert svc["summary"] == acked["canary"]
            for name in acked["hosts"]:
                r = client.get(f"/api/v1/hosts/{quote(name, safe='')}")
                assert r.status_code == 200, (name, r.text)
            for path in ("/api/v1/downtimes", "/api/v1/events", "/api/v1/tokens"):
                assert client.get(path).status_code == 200, path
            assert client.get("/api/v1/events", params={"type": "quarantine"}).status_code == 200
    finally:
        site.stop()
