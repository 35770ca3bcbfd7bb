"""``lookout sites update NAME [--to V]``: backup → stop → migrate → start → verify → done, and
on any failure the backup restored and the old site started (with its old version).

``--to V`` takes the site to another installed version (``versions``): migrated by V's
``lookout migrate``, started by V's ``lookout serve``; checked first, before anything changes,
that V knows the database's schema revision (no downgrade past a migration).

Resumable: ``ROOT/state/NAME.update`` records the step being taken before it is taken,
so an update killed at any point (SIGKILL included) and run again takes that step again (each
is idempotent) and goes on; a rollback that was killed goes on rolling back. A site is never
left half-migrated: either every step after the backup succeeded, or the backup is back.

Locks: the update holds the site's own lock (``ROOT/run/NAME.lock``) throughout, so two updates
of one site never overlap while updates of different sites do; it takes the root's lock only
around its quick record changes, always after the site's lock (nothing holding the root's lock
waits for a site's lock, so nothing deadlocks). It stops and starts the site through ``Sites``:
directly, or by asking the supervisor (which must do the forking), see ``fleet``.

For tests, ``LOOKOUT_SITES_UPDATE_FAIL=STEP`` makes STEP fail after doing its work and
``LOOKOUT_SITES_UPDATE_KILL=STEP`` SIGKILLs the process there (``rollback`` is a step too);
``STEP@NAME`` does so for site NAME only, and a comma-separated list names several.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import threading
import time
from pathlib import Path
from typing import Any, Protocol

import httpx
from sqlalchemy.exc import SQLAlchemyError

from lookout import __version__
from lookout.config import load_settings
from lookout.errors import ConfigError, Conflict, LookoutError
from lookout.manager import backup as bk
from lookout.manager.manager import Manager, swap_in
from lookout.manager.processes import alive, stop_process
from lookout.manager.root import Record
from lookout.manager.versions import Versions
from lookout.sites.site import CLI_CREDENTIALS
from lookout.storage.database import current_revision, migrate, open_database

STEPS = ("backup", "stop", "migrate", "start", "verify", "done")
FAIL_ENV = "LOOKOUT_SITES_UPDATE_FAIL"
KILL_ENV = "LOOKOUT_SITES_UPDATE_KILL"
CHECK_HOST = "lookout-update-check"
_MIGRATING = threading.Lock()
"""Alembic keeps its migration context in module globals: one migration at a time per process."""


class UpdateFailed(ConfigError):
    """An update failed at ``step``; ``restored``: the backup is back and the old site as it was
    (False: it failed before anything changed)."""

    def __init__(self, message: str, step: str, error: str, *, restored: bool) -> None:
        super().__init__(message)
        self.step = step
        self.error = error
        self.restored = restored


class Sites(Protocol):
    """How an update stops and starts a site; each returns the site's record as it is now."""

    def stop(self, name: str) -> Record: ...

    def start(self, name: str) -> Record: ...


class DirectSites:
    """Stops and starts the site itself (no supervisor, or inside the supervisor): the root's
    lock only while the record changes, not while the site gets ready."""

    def __init__(self, manager: Manager) -> None:
        self.m = manager

    def stop(self, name: str) -> Record:
        """The process ends outside the root's lock (it may take seconds); ``wanted`` stays:
        the update decides what the site ends as."""
        old = self.m.root.record(name)
        if old.pid is not None:
            stop_process(old.pid, old.started)
        with self.m.root.locked():
            rec = self.m.root.record(name)
            if (rec.pid, rec.started) == (old.pid, old.started):
                rec.pid = rec.started = None
                self.m.root.save(rec)
            return rec

    def start(self, name: str) -> Record:
        with self.m.root.locked():
            rec = self.m.root.record(name)
            if alive(rec.pid, rec.started):
                return rec
            self.m.launch_process(rec)
        try:
            self.m.await_ready(rec)
        except ConfigError:
            with self.m.root.locked():
                self.m.end_process(self.m.root.record(name))
            raise
        return rec


class Update:
    """``to``: the version to update to (None: an unfinished update's, else this
    installation's)."""

    def __init__(
        self, manager: Manager, name: str, sites: Sites | None = None, to: str | None = None
    ) -> None:
        self.m = manager
        self.root = manager.root
        self.name = name
        self.sites = sites or DirectSites(manager)
        self.to = to
        self.versions = Versions(manager.root)
        self.path = self.root.path / "state" / f"{name}.update"

    def run(self) -> dict[str, Any]:
        with self.root.site_locked(self.name):
            return self._run()

    def _run(self) -> dict[str, Any]:
        rec = self.root.record(self.name)
        state = self._load()
        if state is None:
            to = self.to or __version__
            state = {"step": "backup", "was": rec.wanted, "from": rec.version, "to": to}
            self._check(to)
        elif self.to is not None and self.to != state.get("to", __version__):
            raise Conflict(
                f"an update of {self.name} to {state.get('to', __version__)} is unfinished: "
                "run it again without --to (or with that version) first"
            )
        if state.get("rolling_back"):
            self._rollback(state)
            return self._finish(state, "rolled back (resumed)")
        try:
            for step in STEPS[STEPS.index(state["step"]) :]:
                state["step"] = step
                self._save(state)
                self._hook(KILL_ENV, step, kill=True)
                getattr(self, f"_{step}")(state)
                self._hook(FAIL_ENV, step)
        except (LookoutError, OSError, httpx.HTTPError) as exc:
            if "backup" not in state:  # nothing changed yet
                self.path.unlink(missing_ok=True)
                raise UpdateFailed(
                    f"update of {self.name} failed at backup: {exc}", "backup", str(exc),
                    restored=False,
                ) from exc  # fmt: skip
            state["rolling_back"] = True
            state["error"] = f"{state['step']}: {exc}"
            self._save(state)
            self._rollback(state)
            self.path.unlink(missing_ok=True)
            raise UpdateFailed(
                f"update of {self.name} failed at {state['error']}; the backup "
                f"{Path(state['backup']).name} was restored and the old site started",
                state["step"], str(exc), restored=True,
            ) from exc  # fmt: skip
        return self._finish(state, "updated")

    def _hook(self, env: str, step: str, *, kill: bool = False) -> None:
        _test_hook(env, step, self.name, kill=kill)

    def _finish(self, state: dict[str, Any], outcome: str) -> dict[str, Any]:
        self.path.unlink(missing_ok=True)
        version = self.root.record(self.name).version
        return {"name": self.name, "outcome": outcome, "backup": state.get("backup"),
                "version": version}  # fmt: skip

    def _check(self, to: str) -> None:
        """Before anything changes: ``to`` is installed and knows the database's schema (a
        database migrated by a newer version is never given to an older one's code)."""
        try:
            target = self.versions.describe(to)
            site_dir = self.root.site_dir(self.name)
            db = open_database(load_settings(site_dir).database(site_dir))
            try:
                revision = current_revision(db)
            finally:
                db.dispose()
        except (LookoutError, OSError, SQLAlchemyError) as exc:
            raise UpdateFailed(f"update of {self.name} to {to} refused: {exc}", "check",
                               str(exc), restored=False) from exc  # fmt: skip
        if revision is not None and revision not in target.revisions:
            why = (
                f"its database is at schema revision {revision}, which Lookout {to} does not "
                f"know (its newest is {target.head}): a downgrade past a migration is refused"
            )
            raise UpdateFailed(f"update of {self.name} to {to} refused: {why}", "check", why,
                               restored=False)  # fmt: skip

    # ------------------------------------------------------------------ steps
    def _backup(self, state: dict[str, Any]) -> None:
        rec = self.root.record(self.name)
        if alive(rec.pid, rec.started):
            bk.checkpoint_first(self.root.site_dir(self.name))
        made = bk.make_backup(self.root.site_dir(self.name), self.root.backups(self.name),
                              self.name, rec.version)  # fmt: skip
        state["backup"] = str(made.path)

    def _stop(self, state: dict[str, Any]) -> None:
        self.sites.stop(self.name)

    def _migrate(self, state: dict[str, Any]) -> None:
        site_dir = self.root.site_dir(self.name)
        to = state.get("to", __version__)
        if to == __version__:
            db = open_database(load_settings(site_dir).database(site_dir))
            try:
                with _MIGRATING:
                    migrate(db)
            finally:
                db.dispose()
        else:  # with that version's own code and migrations
            self.versions.migrate(to, site_dir)
        with self.root.locked():
            rec = self.root.record(self.name)
            rec.version = to
            self.root.save(rec)

    def _start(self, state: dict[str, Any]) -> None:
        self.sites.start(self.name)

    def _verify(self, state: dict[str, Any]) -> None:
        """Ready; a result submitted is visible; an action is taken (then the check host goes)."""
        rec = self.root.record(self.name)
        site_dir = self.root.site_dir(self.name)
        token = json.loads((site_dir / CLI_CREDENTIALS).read_text(encoding="utf-8"))["token"]
        url = f"http://{self.root.settings.host}:{rec.http_port}"
        summary = f"update check {secrets.token_hex(4)}"
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"},
                          timeout=30) as c:  # fmt: skip
            c.get("/readyz").raise_for_status()
            runs = c.get("/api/v1/site").raise_for_status().json().get("version")
            if runs != state.get("to", __version__):
                raise ConfigError(f"verify: the site runs Lookout {runs}, not {state.get('to')}")
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

    def _done(self, state: dict[str, Any]) -> None:
        self._settle(state["was"])

    def _settle(self, was: str) -> None:
        """The site wanted as it was before the update (started only to be verified: stopped)."""
        if was == "stopped":
            self.sites.stop(self.name)
        with self.root.locked():
            rec = self.root.record(self.name)
            rec.wanted = "stopped" if was == "stopped" else "running"
            self.root.save(rec)

    # ------------------------------------------------------------------ rollback
    def _rollback(self, state: dict[str, Any]) -> None:
        self._hook(KILL_ENV, "rollback", kill=True)
        self.sites.stop(self.name)
        site_dir = self.root.site_dir(self.name)
        fresh = site_dir.with_name(f".{self.name}.restoring")
        shutil.rmtree(fresh, ignore_errors=True)
        bk.unpack(Path(state["backup"]), fresh)
        self.m.own(self.root.record(self.name), fresh)  # the site's own user, if it has one
        swap_in(fresh, site_dir)
        with self.root.locked():
            rec = self.root.record(self.name)
            rec.version = state["from"]
            self.root.save(rec)
        if state["was"] == "running":
            self.sites.start(self.name)
        self._settle(state["was"])

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
        tmp = self.path.with_name(f"{self.path.name}.tmp")  # not NAME.tmp: the record's
        tmp.write_text(json.dumps(state), encoding="utf-8")
        os.replace(tmp, self.path)


def _test_hook(env: str, step: str, name: str, *, kill: bool = False) -> None:
    wanted = os.environ.get(env, "").split(",")
    if step not in wanted and f"{step}@{name}" not in wanted:
        return
    if kill:
        os.kill(os.getpid(), signal.SIGKILL)
    raise ConfigError(f"injected failure at {step} ({env})")


def update(
    manager: Manager, name: str, sites: Sites | None = None, to: str | None = None
) -> dict[str, Any]:
    return Update(manager, name, sites, to).run()
