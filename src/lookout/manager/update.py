"""``lookout sites update NAME``: backup → stop → migrate → start → verify → done, and on any
failure the backup restored and the old site started.

Resumable: ``ROOT/state/NAME.update`` records the step being taken before it is taken,
so an update killed at any point (SIGKILL included) and run again takes that step again (each
is idempotent) and goes on; a rollback that was killed goes on rolling back. A site is never
left half-migrated: either every step after the backup succeeded, or the backup is back.

For tests, ``LOOKOUT_SITES_UPDATE_FAIL=STEP`` makes STEP fail after doing its work and
``LOOKOUT_SITES_UPDATE_KILL=STEP`` SIGKILLs the process there (``rollback`` is a step too).
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import time
from pathlib import Path
from typing import Any

import httpx

from lookout import __version__
from lookout.config import load_settings
from lookout.errors import ConfigError, LookoutError
from lookout.manager import backup as bk
from lookout.manager.manager import Manager, swap_in
from lookout.manager.processes import alive
from lookout.manager.root import Record
from lookout.sites.site import CLI_CREDENTIALS
from lookout.storage.database import migrate, open_database

STEPS = ("backup", "stop", "migrate", "start", "verify", "done")
FAIL_ENV = "LOOKOUT_SITES_UPDATE_FAIL"
KILL_ENV = "LOOKOUT_SITES_UPDATE_KILL"
CHECK_HOST = "lookout-update-check"


class Update:
    def __init__(self, manager: Manager, name: str) -> None:
        self.m = manager
        self.root = manager.root
        self.name = name
        self.path = self.root.path / "state" / f"{name}.update"

    def run(self) -> dict[str, Any]:
        with self.root.locked():
            rec = self.root.record(self.name)
            state = self._load() or {"step": "backup", "was": rec.wanted, "from": rec.version}
            if state.get("rolling_back"):
                self._rollback(rec, state)
                return self._finish(state, "rolled back (resumed)")
            try:
                for step in STEPS[STEPS.index(state["step"]) :]:
                    state["step"] = step
                    self._save(state)
                    _test_hook(KILL_ENV, step, kill=True)
                    getattr(self, f"_{step}")(rec, state)
                    _test_hook(FAIL_ENV, step)
            except (LookoutError, OSError, httpx.HTTPError) as exc:
                if "backup" not in state:  # nothing changed yet
                    self.path.unlink(missing_ok=True)
                    raise ConfigError(f"update of {self.name} failed at backup: {exc}") from exc
                state["rolling_back"] = True
                state["error"] = f"{state['step']}: {exc}"
                self._save(state)
                self._rollback(rec, state)
                self.path.unlink(missing_ok=True)
                raise ConfigError(
                    f"update of {self.name} failed at {state['error']}; the backup "
                    f"{Path(state['backup']).name} was restored and the old site started"
                ) from exc
            return self._finish(state, "updated")

    def _finish(self, state: dict[str, Any], outcome: str) -> dict[str, Any]:
        self.path.unlink(missing_ok=True)
        return {"name": self.name, "outcome": outcome, "backup": state.get("backup")}

    # ------------------------------------------------------------------ steps
    def _backup(self, rec: Record, state: dict[str, Any]) -> None:
        if alive(rec.pid, rec.started):
            bk.checkpoint_first(self.root.site_dir(self.name))
        made = bk.make_backup(self.root.site_dir(self.name), self.root.backups(self.name),
                              self.name, rec.version)  # fmt: skip
        state["backup"] = str(made.path)

    def _stop(self, rec: Record, state: dict[str, Any]) -> None:
        self.m.end_process(rec)

    def _migrate(self, rec: Record, state: dict[str, Any]) -> None:
        site_dir = self.root.site_dir(self.name)
        db = open_database(load_settings(site_dir).database(site_dir))
        try:
            migrate(db)
        finally:
            db.dispose()
        rec.version = __version__
        self.root.save(rec)

    def _start(self, rec: Record, state: dict[str, Any]) -> None:
        self.m.run_process(rec)

    def _verify(self, rec: Record, state: dict[str, Any]) -> None:
        """Ready; a result submitted is visible; an action is taken (then the check host goes)."""
        site_dir = self.root.site_dir(self.name)
        token = json.loads((site_dir / CLI_CREDENTIALS).read_text(encoding="utf-8"))["token"]
        url = f"http://{self.root.settings.host}:{rec.http_port}"
        summary = f"update check {secrets.token_hex(4)}"
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"},
                          timeout=30) as c:  # fmt: skip
            c.get("/readyz").raise_for_status()
            c.delete(f"/api/v1/hosts/{CHECK_HOST}")  # left by an update killed here
            c.post("/api/v1/hosts", json={"name": CHECK_HOST}).raise_for_status()
            svc = {"name": "self-test"}
            c.post(f"/api/v1/hosts/{CHECK_HOST}/services", json=svc).raise_for_status()
            result = {"host": CHECK_HOST, "service": "self-test", "state": 0, "summary": summary}
            c.post("/api/v1/results", json={"results": [result]}).raise_for_status()
            got = c.get(f"/api/v1/hosts/{CHECK_HOST}/services/self-test").json()
            if got.get("summary") != summary:
                raise ConfigError(f"verify: the submitted result is not visible (got {got})")
            note = {"host": CHECK_HOST, "comment": "update check"}
            c.post("/api/v1/actions/comment", json=note).raise_for_status()
            c.delete(f"/api/v1/hosts/{CHECK_HOST}").raise_for_status()

    def _done(self, rec: Record, state: dict[str, Any]) -> None:
        if state["was"] == "stopped":  # started only to be verified
            rec.wanted = "stopped"
            self.m.end_process(rec)

    # ------------------------------------------------------------------ rollback
    def _rollback(self, rec: Record, state: dict[str, Any]) -> None:
        _test_hook(KILL_ENV, "rollback", kill=True)
        self.m.end_process(rec)
        site_dir = self.root.site_dir(self.name)
        fresh = site_dir.with_name(f".{self.name}.restoring")
        shutil.rmtree(fresh, ignore_errors=True)
        bk.unpack(Path(state["backup"]), fresh)
        swap_in(fresh, site_dir)
        rec.version = state["from"]
        rec.wanted = state["was"]
        self.root.save(rec)
        if rec.wanted == "running":
            self.m.run_process(rec)

    # ------------------------------------------------------------------ state file
    def _load(self) -> dict[str, Any] | None:
        try:
            data: dict[str, Any] = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except ValueError as exc:
            raise ConfigError(f"{self.path}: unreadable update state: {exc}") from exc
        return data

    def _save(self, state: dict[str, Any]) -> None:
        state["at"] = time.time()
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(state), encoding="utf-8")
        os.replace(tmp, self.path)


def _test_hook(env: str, step: str, *, kill: bool = False) -> None:
    if os.environ.get(env) != step:
        return
    if kill:
        os.kill(os.getpid(), signal.SIGKILL)
    raise ConfigError(f"injected failure at {step} ({env})")


def update(manager: Manager, name: str) -> dict[str, Any]:
    return Update(manager, name).run()
