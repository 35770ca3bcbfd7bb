"""The tree as YAML files: layout, validation with file and path, secrets, the parse cache."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lookout.configcode import files
from lookout.configcode.files import TreeError, host_file, host_of_file, read_tree, write_tree
from lookout.notify.spec import MASK

TREE: dict[str, Any] = {
    "hosts": [
        {
            "name": "web 1:a",
            "address": "10.0.0.1",
            "groups": ["web"],
            "services": [
                {"name": "Filesystem /var", "params": {"levels": [80, 90]}},
                {"name": "HTTP", "check": {"type": "http", "url": "http://x/"}},
            ],
        },
        {"name": "db1"},
    ],
    "commands": [{"name": "check_x", "command_line": "/bin/true"}],
    "host_groups": [{"name": "web", "alias": "Web servers"}],
    "service_groups": [],
    "channels": [
        {"name": "hook", "spec": {"type": "webhook", "url": "https://h/", "secret": "xyz"}}
    ],
    "rules": [{"name": "r1", "channels": ["hook"]}],
    "contacts": [{"user": "alice", "groups": ["ops"]}],
    "downtimes": [
        {"host": "db1", "start": 1767492000.0, "end": 1767495600.0, "recurrence": "0 2 * * 0"}
    ],
}


def test_written_tree_reads_back(tmp_path: Path) -> None:
    write_tree(tmp_path, TREE)
    assert (tmp_path / "hosts" / "web%201%3Aa.yaml").is_file()
    assert "xyz" not in (tmp_path / "notifications.yaml").read_text()
    env = {"LOOKOUT_SECRET_HOOK_SECRET": "xyz"}
    back = read_tree(tmp_path, env, tmp_path / "cache")
    assert back["hosts"][0]["name"] == "db1"  # files are read in name order
    web = back["hosts"][1]
    assert web["services"][0] == {"name": "Filesystem /var", "params": {"levels": [80, 90]}}
    assert back["commands"] == TREE["commands"]
    assert back["host_groups"] == TREE["host_groups"]
    assert back["channels"][0]["spec"]["secret"] == "xyz"
    assert back["rules"][0]["name"] == "r1"
    assert back["contacts"][0]["groups"] == ["ops"]
    assert back["downtimes"][0]["recurrence"] == "0 2 * * 0"
    assert read_tree(tmp_path, {}, None)["channels"][0]["spec"]["secret"] == MASK


def test_export_into_a_directory_removes_files_of_hosts_gone(tmp_path: Path) -> None:
    write_tree(tmp_path, TREE)
    write_tree(tmp_path, {**TREE, "hosts": [{"name": "db1"}]})
    assert sorted(p.name for p in (tmp_path / "hosts").iterdir()) == ["db1.yaml"]


def test_cache_skips_parsing_unchanged_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_tree(tmp_path / "t", TREE)
    cache = tmp_path / "cache.msgpack"
    first = read_tree(tmp_path / "t", {}, cache)
    calls = []
    monkeypatch.setattr(files, "host_from_file", lambda *a: calls.append(a))
    assert read_tree(tmp_path / "t", {}, cache) == first
    assert calls == []


def test_problems_name_file_and_path(tmp_path: Path) -> None:
    (tmp_path / "hosts").mkdir()
    (tmp_path / "hosts" / "a.yaml").write_text(
        "name: a\nservices:\n  S:\n    max_check_attempts: 0\n"
    )
    (tmp_path / "hosts" / "b.yaml").write_text("name: b\n  bad: [\n")
    (tmp_path / "hosts" / "c.yaml").write_text("name: c\ngroups: nope\n")
    (tmp_path / "groups.yaml").write_text("host_groups: {web: Web}\n")
    (tmp_path / "downtimes.yaml").write_text("- host: a\n  start: x\n")
    with pytest.raises(TreeError) as caught:
        read_tree(tmp_path, {}, None)
    text = "\n".join(caught.value.problems)
    assert "hosts/a.yaml: services.S.max_check_attempts:" in text
    assert "hosts/b.yaml:2: not valid YAML" in text
    assert "hosts/c.yaml: groups: Input should be a valid list" in text
    assert "downtimes.yaml: 0: start:" in text


@given(
    st.text(
        st.characters(exclude_categories=["Cs"], exclude_characters="/\x00"),
        min_size=1,
        max_size=60,
    )
)
def test_every_host_name_makes_one_file_name(name: str) -> None:
    path = host_file(name)
    assert path.startswith("hosts/")
    assert "/" not in path[len("hosts/") :]
    assert not path[len("hosts/") :].startswith(".")
    assert host_of_file(path) == name


_names = st.text(
    st.characters(exclude_categories=["Cs", "Cc"], exclude_characters="/"), min_size=1, max_size=20
).filter(lambda n: n.strip() == n and n not in (".", "..") and not n.startswith("-"))
_label_keys = st.from_regex(r"[a-z][a-z0-9_.\-]{0,10}", fullmatch=True)
_values = st.text(st.characters(exclude_categories=["Cs", "Cc"]), max_size=20)
_services = st.lists(
    st.fixed_dictionaries(
        {"name": _names},
        optional={
            "params": st.dictionaries(_label_keys, st.integers() | _values, max_size=3),
            "labels": st.dictionaries(_label_keys, _values, max_size=3),
            "check_interval": st.floats(1, 86400),
            "max_check_attempts": st.integers(1, 100),
        },
    ),
    max_size=4,
    unique_by=lambda s: s["name"],
)
_hosts = st.lists(
    st.fixed_dictionaries(
        {"name": _names, "services": _services},
        optional={
            "address": _values,
            "labels": st.dictionaries(_label_keys, _values, max_size=3),
            "groups": st.lists(_names, max_size=2),
        },
    ),
    max_size=4,
    unique_by=lambda h: h["name"],
)


@settings(max_examples=40, deadline=None)
@given(_hosts)
def test_hosts_round_trip_through_files(hosts: list[dict[str, Any]]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        write_tree(Path(tmp), {"hosts": hosts})
        back = read_tree(Path(tmp), {}, None)["hosts"]
    by_name = {h["name"]: h for h in back}
    assert set(by_name) == {h["name"] for h in hosts}
    for h in hosts:
        got = by_name[h["name"]]
        assert {k: v for k, v in got.items() if k != "services"} == {
            k: v for k, v in h.items() if k != "services"
        }
        assert got["services"] == h["services"]
