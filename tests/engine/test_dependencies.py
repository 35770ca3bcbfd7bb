"""Which dependencies a service may hold, and what a cause does to its consequences."""

from __future__ import annotations

import pytest

from lookout.domain.objects import HostConfig, ServiceConfig
from lookout.domain.results import CheckResult
from lookout.domain.values import InvalidValue
from lookout.engine.core import Engine
from lookout.engine.dependencies import check_dependencies
from lookout.engine.inputs import Results


def engine(**deps: tuple[tuple[str, str], ...]) -> Engine:
    eng = Engine()
    eng.put_host(HostConfig(name="h"), at=0.0)
    for name in ("a", "b", "c"):
        cfg = ServiceConfig(
            host="h", name=name, max_check_attempts=1, stale_after=0, depends_on=deps.get(name, ())
        )
        eng.put_service(cfg, at=0.0)
    return eng


@pytest.mark.parametrize(
    ("deps", "loc", "message"),
    [
        ((("h", "a"),), ("depends_on", 0), "a service cannot depend on itself"),
        ((("h", "zz"),), ("depends_on", 0), "no service h/zz"),
        ((("h", "c"),), ("depends_on", 0), "a cycle: h/a → h/c → h/b → h/a"),
    ],
)
def test_refused_dependencies_say_why_and_where(
    deps: tuple[tuple[str, str], ...], loc: tuple[object, ...], message: str
) -> None:
    eng = engine(b=(("h", "a"),), c=(("h", "b"),))
    with pytest.raises(InvalidValue) as err:
        check_dependencies(eng.services, ("h", "a"), deps)
    assert (err.value.loc, err.value.msg) == (loc, message)


def test_a_service_named_twice_is_refused() -> None:
    eng = engine()
    with pytest.raises(InvalidValue, match="h/b is named twice") as err:
        check_dependencies(eng.services, ("h", "a"), (("h", "b"), ("h", "b")))
    assert err.value.loc == ("depends_on", 1)


def test_a_chain_without_a_cycle_is_fine() -> None:
    eng = engine(b=(("h", "a"),))
    check_dependencies(eng.services, ("h", "c"), (("h", "b"), ("h", "a")))


def test_the_cause_is_known_only_while_it_has_a_problem() -> None:
    eng = engine(b=(("h", "a"),))
    a, b = eng.status[("h", "a")], eng.status[("h", "b")]
    eng.apply(
        Results(at=1.0, results=[CheckResult("h", "b", 2, "x"), CheckResult("h", "a", 2, "y")])
    )
    assert eng.cause(b) is a
    assert eng.handled(b)
    assert eng.affected(a) == ["h/b"]
    eng.apply(Results(at=2.0, results=[CheckResult("h", "a", 0, "fine")]))
    assert eng.cause(b) is None
    assert not eng.handled(b)


def test_dropping_a_dependency_updates_who_it_affects() -> None:
    eng = engine(b=(("h", "a"),))
    eng.put_service(ServiceConfig(host="h", name="b"), at=1.0)
    assert eng.affected(eng.status[("h", "a")]) == []
    eng.put_service(ServiceConfig(host="h", name="c", depends_on=(("h", "a"),)), at=1.0)
    eng.remove_service("h", "c")
    assert eng.dependents == {}
