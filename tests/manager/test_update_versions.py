"""``lookout sites update NAME --to V`` with a real second installed version (its own virtual
environment, one more migration): the site ends migrated by V's code and served by V's
process; a failure restores the database as it was before V migrated it and starts the old
version; a SIGKILL after V's migration resumes or rolls back; going back to a version that
does not know the database's schema is refused before anything changes. Through the
supervisor too, with ``--all``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
import sqlalchemy as sa
from managerroot import make_root, stop_all
from otherversion import EXTRA_REVISION, EXTRA_TABLE, make_version
from sitehttp import add_service, api, history, submit

from lookout import __version__
from lookout.config import load_settings
from lookout.errors import Conflict
from lookout.manager.manager import Manager, NewSite
from lookout.manager.root import ROOT_SETTINGS, Root
from lookout.manager.update import FAIL_ENV, KILL_ENV, UpdateFailed, update
from lookout.manager.versions import Versions
from lookout.storage.database import current_revision, known_revisions, open_database

pytestmark = pytest.mark.integration
CLI = (sys.executable, "-m", "lookout.cli.main")
V9 = "9.0.0"


@pytest.fixture
def root(tmp_path: Path) -> Iterator[Root]:
    """A root whose sites may take 120 s to get ready: another version's site is a fresh
    interpreter (not forked), slow to start on a loaded machine."""
    made = make_root(tmp_path / "root")
    settings = made.path / ROOT_SETTINGS
    text = settings.read_text(encoding="utf-8")
    assert "ready_timeout = 30.0" in text
    settings.write_text(text.replace("ready_timeout = 30.0", "ready_timeout = 120.0"))
    r = Root(made.path)
    try:
        yield r
    finally:
        stop_all(r)


@pytest.fixture(scope="module")
def v9(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_version(tmp_path_factory.mktemp("v9") / "env", V9, extra_migration=True)


@pytest.fixture
def site(root: Root, manager: Manager, v9: Path) -> NewSite:
    Versions(root).add(V9, v9)
    new = manager.create("alpha")
    add_service(new.url, new.token, "web01", "disk")
    for _ in range(3):
        submit(new.url, new.token, "web01", "disk", 2, "full")
    return new


def schema(root: Root, name: str) -> tuple[str | None, bool]:
    """The site database's revision, and whether it has the newer version's table."""
    site_dir = root.site_dir(name)
    db = open_database(load_settings(site_dir).database(site_dir))
    try:
        return current_revision(db), sa.inspect(db).has_table(EXTRA_TABLE)
    finally:
        db.dispose()


def served_by(root: Root, name: str, url: str, token: str) -> tuple[str, str]:
    """The version the site says it is, and the interpreter of its process."""
    rec = root.record(name)
    assert rec.pid is not None
    with api(url, token) as c:
        version = c.get("/api/v1/site").raise_for_status().json()["version"]
    return version, psutil.Process(rec.pid).cmdline()[0]


def update_cli(root: Root, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, "sites", "update", *args, "--json", "--root", str(root.path)],
        capture_output=True, text=True, timeout=300, env={**os.environ, **env},
    )  # fmt: skip


def test_an_update_to_another_version_and_no_way_back_past_its_migration(
    root: Root, manager: Manager, site: NewSite, v9: Path
) -> None:
    before = history(site.url, site.token)
    assert schema(root, "alpha") == (known_revisions()[-1], False)
    done = update(manager, "alpha", to=V9)
    assert (done["outcome"], done["version"]) == ("updated", V9)
    assert schema(root, "alpha") == (EXTRA_REVISION, True)  # migrated by 9.0.0's own code
    assert served_by(root, "alpha", site.url, site.token) == (V9, str(v9 / "bin" / "python"))
    assert history(site.url, site.token)["services"] == before["services"]
    assert manager.rows()[0]["version"] == V9

    with pytest.raises(UpdateFailed, match="does not know") as refused:
        update(manager, "alpha", to=__version__)
    assert (refused.value.step, refused.value.restored) == ("check", False)
    assert not (root.path / "state" / "alpha.update").exists()
    assert root.record("alpha").version == V9
    assert served_by(root, "alpha", site.url, site.token)[0] == V9
    with pytest.raises(Conflict, match="in use by alpha"):
        Versions(root).remove(V9)


def test_a_failure_restores_the_database_before_the_migration_and_the_old_version(
    root: Root, manager: Manager, site: NewSite, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = history(site.url, site.token)
    old = schema(root, "alpha")
    for step in ("migrate",):  # after verify: below (the rest: the same as any update's)
        monkeypatch.setenv(FAIL_ENV, step)
        with pytest.raises(UpdateFailed, match=f"failed at {step}: injected") as exc:
            update(manager, "alpha", to=V9)
        assert exc.value.restored, step
        assert schema(root, "alpha") == old, step  # 9.0.0 had migrated it: the backup is back
        assert root.record("alpha").version == __version__
        assert served_by(root, "alpha", site.url, site.token) == (__version__, sys.executable)
        assert history(site.url, site.token) == before, step


def test_a_kill_after_the_new_version_migrated_resumes_or_rolls_back(
    root: Root, manager: Manager, site: NewSite
) -> None:
    old = schema(root, "alpha")
    killed = update_cli(root, "alpha", "--to", V9, **{FAIL_ENV: "verify", KILL_ENV: "rollback"})
    assert killed.returncode == -9
    assert schema(root, "alpha") == (EXTRA_REVISION, True)  # killed before the backup came back
    again = update_cli(root, "alpha")
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["outcome"] == "rolled back (resumed)"
    assert schema(root, "alpha") == old
    assert served_by(root, "alpha", site.url, site.token) == (__version__, sys.executable)

    killed = update_cli(root, "alpha", "--to", V9, **{KILL_ENV: "start"})
    assert killed.returncode == -9
    assert root.record("alpha").version == V9  # migrated by 9.0.0, not started
    assert manager.rows()[0]["state"] == "failed"
    other = update_cli(root, "alpha", "--to", __version__)
    assert other.returncode == 1
    assert f"to {V9} is unfinished" in other.stderr
    again = update_cli(root, "alpha")
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout) | {"backup": None} == {
        "name": "alpha", "outcome": "updated", "backup": None, "version": V9,
    }  # fmt: skip
    assert served_by(root, "alpha", site.url, site.token)[0] == V9


def test_update_all_to_another_version_through_the_supervisor(
    root: Root, manager: Manager, v9: Path, supervisor: None
) -> None:
    Versions(root).add(V9, v9)
    made = {}
    for name in ("s1", "s2"):
        done = sites_cli(root, "create", name, "--json")
        assert done.returncode == 0, done.stderr
        made[name] = json.loads(done.stdout)
    done = sites_cli(root, "update", "--all", "--to", V9, "--parallel", "2", "--json",
                     **{FAIL_ENV: "verify@s2"})  # fmt: skip
    assert done.returncode == 1, done.stderr
    outcomes = {o["name"]: o["result"] for o in map(json.loads, done.stdout.splitlines())}
    assert outcomes == {"s1": "updated", "s2": "restored"}
    s1, s2 = made["s1"], made["s2"]
    assert served_by(root, "s1", s1["local_url"], s1["token"]) == (V9, str(v9 / "bin" / "python"))
    assert schema(root, "s1") == (EXTRA_REVISION, True)
    assert served_by(root, "s2", s2["local_url"], s2["token"]) == (__version__, sys.executable)
    assert schema(root, "s2") == (known_revisions()[-1], False)
    parent = psutil.Process(root.record("s1").pid).parent()  # 9.0.0's process: its child
    assert parent is not None
    assert parent.cmdline()[-3:] == ["sites", "serve", str(root.path)]
    assert psutil.Process(root.record("s2").pid).ppid() == parent.pid  # forked by it
    listed = sites_cli(root, "versions", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    rows = {r["version"]: r for r in json.loads(listed.stdout)}
    assert rows[V9]["sites"] == ["s1"]
    assert rows[V9]["schema"] == EXTRA_REVISION
    assert rows[__version__]["current"]


def sites_cli(root: Root, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, "sites", *args, "--root", str(root.path)],
        capture_output=True, text=True, timeout=300, env={**os.environ, **env},
    )  # fmt: skip
