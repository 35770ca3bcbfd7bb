"""The diff of a tree against a site's objects (pure)."""

from __future__ import annotations

from lookout.configcode.plan import (
    ServiceDefaults,
    host_config,
    host_entry,
    plan_named,
    plan_objects,
    service_config,
    service_entry,
)
from lookout.configcode.tree import MANAGED_LABEL
from lookout.domain.objects import HostConfig, ServiceConfig

D = ServiceDefaults()
ENTRIES = [
    {
        "name": "web1",
        "labels": {"team": "web"},
        "services": [{"name": "HTTP", "check_interval": 30.0}, {"name": "Disk"}],
    },
    {"name": "db1", "parents": ["web1"]},
]


def site_of(
    entries: list[dict[str, object]],
) -> tuple[dict[str, HostConfig], dict[str, dict[str, ServiceConfig]]]:
    hosts = {str(e["name"]): host_config(e) for e in entries}
    services = {
        str(e["name"]): {
            str(s["name"]): service_config(str(e["name"]), s, D) for s in e.get("services", [])
        }  # type: ignore[attr-defined]
        for e in entries
    }
    return hosts, services


def test_same_tree_plans_nothing() -> None:
    hosts, services = site_of(ENTRIES)
    plan = plan_objects(ENTRIES, hosts, services, D)
    assert not plan.host_changes
    assert not plan.service_changes
    assert plan.hosts == plan.services == []


def test_create_change_and_remove_only_managed() -> None:
    hosts, services = site_of(ENTRIES)
    hosts["by-hand"] = HostConfig(name="by-hand")
    services["web1"]["agent item"] = ServiceConfig(host="web1", name="agent item")
    entries = [
        {"name": "web1", "labels": {"team": "ops"}, "services": [{"name": "HTTP"}]},
        {"name": "new"},
    ]
    plan = plan_objects(entries, hosts, services, D)
    assert plan.host_changes.create == ["new"]
    assert plan.host_changes.change == ["web1"]
    assert plan.host_changes.remove == ["db1"]
    assert plan.service_changes.change == ["web1/HTTP"]  # interval back to the default
    assert plan.service_changes.remove == ["web1/Disk"]  # "agent item" is not managed
    assert plan.remove_hosts == ["db1"]
    assert plan.remove_services == [("web1", "Disk")]


def test_entries_of_the_wrong_shape_count_as_changes() -> None:
    plan = plan_objects([{"name": "x", "groups": 5}], {}, {}, D)
    assert plan.host_changes.create == ["x"]
    assert plan.hosts == []
    assert plan.host_entries["x"] == {"name": "x", "groups": 5}


def test_entries_leave_out_defaults_and_the_managed_label() -> None:
    cfg = host_config({"name": "a", "address": "10.0.0.1"})
    assert cfg.labels == {MANAGED_LABEL: "config"}
    assert host_entry(cfg) == {"name": "a", "address": "10.0.0.1"}
    svc = service_config("a", {"name": "s", "params": {"x": 1}}, D)
    assert service_entry(svc, D) == {"name": "s", "params": {"x": 1}}
    assert host_config(host_entry(cfg)) == cfg


def test_named_kinds() -> None:
    change = plan_named({"a": 1, "b": 2, "c": 3}, {"a": 1, "b": 20, "d": 4})
    assert (change.create, change.change, change.remove) == (["d"], ["b"], ["c"])
