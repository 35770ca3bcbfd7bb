"""``lookout sites update``: a failure injected at every step ends with the backup restored and
the old site running with its data; a real SIGKILL mid-update, then the same command again,
resumes; a SIGKILL mid-rollback, then again, finishes the rollback. (A backup replays the
journal since the last checkpoint, so tests compare before anything is removed: a host removed
since then comes back in the history, docs/decisions.md.)"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from sitehttp import add_service, history, submit

from lookout.errors import ConfigError
from lookout.manager.manager import Manager, NewSite
from lookout.manager.root import Root
from lookout.manager.update import FAIL_ENV, KILL_ENV, STEPS, update

pytestmark = pytest.mark.integration
CLI = (sys.executable, "-m", "lookout.cli.main")


@pytest.fixture
def site(manager: Manager) -> NewSite:
    new = manager.create("alpha")
    add_service(new.url, new.token, "web01", "disk")
    for _ in range(3):  # hard: a status that was never changed is remade at replay (README)
        submit(new.url, new.token, "web01", "disk", 2, "full")
    return new


def update_cli(root: Root, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, "sites", "update", "alpha", "--json", "--root", str(root.path)],
        capture_output=True, text=True, timeout=300, env={**os.environ, **env},
    )  # fmt: skip


def test_an_update_that_works_leaves_the_site_running_with_its_data(
    root: Root, manager: Manager, site: NewSite
) -> None:
    before = history(site.url, site.token)
    done = update(manager, "alpha")
    assert done["outcome"] == "updated"
    assert history(site.url, site.token)["services"] == before["services"]  # check host gone
    assert manager.rows()[0]["state"] == "running"
    assert not (root.path / "state" / "alpha.update").exists()


def test_a_failure_at_any_step_restores_the_backup_and_starts_the_old_site(
    root: Root, manager: Manager, site: NewSite, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = history(site.url, site.token)
    for step in STEPS:
        monkeypatch.setenv(FAIL_ENV, step)
        with pytest.raises(ConfigError, match=f"failed at {step}: injected") as exc:
            update(manager, "alpha")
        assert "was restored and the old site started" in str(exc.value)
        assert manager.rows()[0]["state"] == "running", step
        assert history(site.url, site.token) == before, step
        assert not (root.path / "state" / "alpha.update").exists()


def test_a_killed_rollback_goes_on_and_a_killed_update_resumes(
    root: Root, manager: Manager, site: NewSite
) -> None:
    before = history(site.url, site.token)
    killed = update_cli(root, **{FAIL_ENV: "verify", KILL_ENV: "rollback"})
    assert killed.returncode == -9
    assert json.loads((root.path / "state" / "alpha.update").read_text())["rolling_back"]
    again = update_cli(root)
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["outcome"] == "rolled back (resumed)"
    assert history(site.url, site.token) == before
    assert manager.rows()[0]["state"] == "running"

    killed = update_cli(root, **{KILL_ENV: "migrate"})
    assert killed.returncode == -9
    state = json.loads((root.path / "state" / "alpha.update").read_text())
    assert state["step"] == "migrate"
    assert manager.rows()[0]["state"] == "failed"  # stopped by the update, wanted running
    again = update_cli(root)
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["outcome"] == "updated"
    assert history(site.url, site.token)["services"] == before["services"]
