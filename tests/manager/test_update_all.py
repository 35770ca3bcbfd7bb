"""``lookout sites update --all --parallel 3``, with and without a supervisor: one failure
injected for one site (``STEP@NAME``) ends with that site restored, running and with its data,
every other site updated (a stopped one left stopped), and each outcome reported."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import httpx
import pytest
from sitehttp import add_service, history, submit

from lookout.manager.manager import Manager
from lookout.manager.root import Root
from lookout.manager.update import FAIL_ENV

pytestmark = pytest.mark.integration
CLI = (sys.executable, "-m", "lookout.cli.main")


def sites_cli(root: Root, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, "sites", *args, "--root", str(root.path)],
        capture_output=True, text=True, timeout=600, env={**os.environ, **env},
    )  # fmt: skip


def ready(url: str) -> bool:
    try:
        return httpx.get(url + "/readyz", timeout=5).status_code == 200
    except httpx.TransportError:
        return False


def make_sites(root: Root, names: list[str]) -> dict[str, dict[str, str]]:
    made = {}
    for name in names:
        done = sites_cli(root, "create", name, "--json")
        assert done.returncode == 0, done.stderr
        made[name] = json.loads(done.stdout)
    return made


def test_update_all_without_a_supervisor(root: Root, manager: Manager) -> None:
    made = make_sites(root, ["s1", "s2", "s3", "s4"])
    new = made["s2"]
    add_service(new["url"], new["token"], "web01", "disk")
    for _ in range(3):
        submit(new["url"], new["token"], "web01", "disk", 2, "full")
    before = history(new["url"], new["token"])
    assert sites_cli(root, "stop", "s4").returncode == 0

    done = sites_cli(
        root, "update", "--all", "--parallel", "3", "--json", **{FAIL_ENV: "verify@s2"}
    )
    assert done.returncode == 1, done.stderr
    outcomes = {o["name"]: o for o in map(json.loads, done.stdout.splitlines())}
    assert {n: o["result"] for n, o in outcomes.items()} == {
        "s1": "updated", "s2": "restored", "s3": "updated", "s4": "updated"
    }  # fmt: skip
    assert outcomes["s2"]["step"] == "verify"
    assert "injected failure" in outcomes["s2"]["error"]
    states = {r["name"]: r["state"] for r in manager.rows()}
    assert states == {"s1": "running", "s2": "running", "s3": "running", "s4": "stopped"}
    assert ready(new["url"])
    assert history(new["url"], new["token"]) == before
    assert not list((root.path / "state").glob("*.update"))


def test_update_all_with_a_supervisor(root: Root, manager: Manager, supervisor: None) -> None:
    made = make_sites(root, ["t1", "t2", "t3", "t4", "t5"])

    done = sites_cli(root, "update", "--all", "--parallel", "3", **{FAIL_ENV: "start@t3"})
    assert done.returncode == 1, done.stderr
    lines = done.stdout.splitlines()
    for name in ("t1", "t2", "t4", "t5"):
        assert any(line.startswith(f"✓ {name} updated") for line in lines), done.stdout
    assert any(line.startswith("↺ t3 restored: failed at start: injected") for line in lines)
    assert lines[-1].startswith("5 sites in"), done.stdout
    assert "4 updated, 1 restored" in lines[-1]
    assert all(ready(s["url"]) for s in made.values())
    assert {r["state"] for r in manager.rows()} == {"running"}
    assert not list((root.path / "state").glob("*.update"))


def test_a_name_or_all(root: Root) -> None:
    done = sites_cli(root, "update")
    assert done.returncode != 0
    assert "give a site name or --all" in done.stderr
