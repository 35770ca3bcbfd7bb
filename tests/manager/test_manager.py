"""The site manager over real processes: create, list, stop, start, remove."""

from __future__ import annotations

import stat

import httpx
import pytest
from sitehttp import api

from lookout.errors import ConfigError, Conflict
from lookout.manager.manager import Manager
from lookout.manager.root import Root, check_name

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("name", ["A", "x", "-ab", "ab-", "a_b", "a/b", "a" * 33, "1ab", ""])
def test_bad_site_names_are_refused_saying_what_is_expected(name: str) -> None:
    with pytest.raises(ConfigError, match="expected 2-32 of a-z"):
        check_name(name)


def test_a_created_site_answers_with_its_own_token_and_private_files(
    root: Root, manager: Manager
) -> None:
    new = manager.create("alpha")
    with api(new.url, new.token) as c:
        assert c.get("/readyz").status_code == 200
        assert c.get("/api/v1/hosts").status_code == 200
    site_dir = root.site_dir("alpha")
    assert stat.S_IMODE(site_dir.stat().st_mode) == 0o700
    for name in ("lookout.db", "lookout.toml", "cli.json", "ca/ca.key"):
        assert stat.S_IMODE((site_dir / name).stat().st_mode) == 0o600, name
    [row] = manager.rows()
    assert row["name"] == "alpha"
    assert row["state"] == "running"
    assert row["version"]
    assert row["size"] > 0
    assert row["last_backup"] is None
    with pytest.raises(Conflict):
        manager.create("alpha")


def test_stop_start_and_remove_keep_a_final_backup_unless_purged(
    root: Root, manager: Manager
) -> None:
    a = manager.create("alpha")
    b = manager.create("beta")
    assert a.url != b.url
    manager.stop("alpha")
    assert [r["state"] for r in manager.rows()] == ["stopped", "running"]
    with pytest.raises(httpx.TransportError):
        httpx.get(a.url + "/readyz", timeout=2)
    manager.start("alpha")
    assert httpx.get(a.url + "/readyz", timeout=5).status_code == 200
    final = manager.remove("alpha")
    assert final is not None
    assert final.path.is_file()
    assert not root.site_dir("alpha").exists()
    assert root.names() == ["beta"]
    assert manager.remove("beta", purge=True) is None
    assert not root.backups("beta").exists()
    assert root.names() == []


def test_a_site_that_does_not_start_is_reported_and_left_stopped(
    root: Root, manager: Manager
) -> None:
    manager.create("alpha")
    manager.stop("alpha")
    settings = root.site_dir("alpha") / "lookout.toml"
    settings.write_text(settings.read_text() + "\nno_such_key = 1\n")
    with pytest.raises(ConfigError, match="process ended"):
        manager.start("alpha")
    [row] = manager.rows()
    assert row["state"] == "failed"  # wanted running, not running


def test_a_create_that_fails_leaves_nothing_behind(root: Root) -> None:
    settings = root.path / "manager.toml"
    settings.write_text(
        settings.read_text().replace("ready_timeout = 30.0", "ready_timeout = 0.01")
    )
    with pytest.raises(ConfigError, match=r"did not answer .*/readyz within 0.01 s"):
        Manager(Root(root.path)).create("alpha")
    assert root.names() == []
    assert not root.site_dir("alpha").exists()
