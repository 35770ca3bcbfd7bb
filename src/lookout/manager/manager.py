"""The site manager's operations on a root: create, start, stop, remove, list, back up and
restore sites. Each change holds the root's lock; the processes are started by a launcher
(a subprocess from the CLI, a fork from the supervisor)."""

from __future__ import annotations

import json
import os
import shutil
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lookout import __version__
from lookout.config import SETTINGS_FILE, load_settings, render_settings, validate_settings
from lookout.errors import ConfigError, Conflict
from lookout.manager import backup as bk
from lookout.manager import siteusers
from lookout.manager.processes import (
    SERVE_LOG,
    SHARED_CORES,
    Launcher,
    alive,
    popen_launcher,
    started_at,
    stop_process,
    wait_ready,
)
from lookout.manager.root import ROOT_SETTINGS, Record, Root, check_new_name
from lookout.manager.versions import Versions
from lookout.sites.site import CLI_CREDENTIALS, init_site
from lookout.storage.database import schema_template
from lookout.web.ui.passwords import new_password, set_password


@dataclass(frozen=True)
class NewSite:
    name: str
    url: str
    """Through the front door when there is one (``[door] listen``), else the site's port."""
    agent_url: str
    local_url: str
    """The site's own port (for use on this machine; the CLI's ``cli.json`` has it)."""
    token: str
    password: str
    seconds: float
    """From the start of ``create`` until the site answered /readyz."""


class Manager:
    def __init__(self, root: Root, launcher: Launcher = popen_launcher) -> None:
        self.root = root
        self.launch = launcher

    # ------------------------------------------------------------------ create / remove
    def create(self, name: str) -> NewSite:
        """A new site, started: settings, database, CA, admin token and password."""
        began = time.monotonic()
        check_new_name(name)
        with self.root.locked():
            if self.root.exists(name) or self.root.site_dir(name).exists():
                raise Conflict(f"site {name!r} exists already")
            site_dir = self.root.site_dir(name)
            user, made_user = self._new_user(name)
            rec = Record(name, 0, 0, __version__, time.time(), wanted="running")
            try:  # all or nothing, like lookout init
                rec.http_port, rec.agent_port = self.root.free_ports(2)
                created = init_site(
                    site_dir,
                    listen=f"{self.root.settings.host}:{rec.http_port}",
                    extra=self._site_settings(name, rec.http_port, rec.agent_port),
                    template=schema_template(self.root.run),
                )
                _cli_url(site_dir, self.local_url(rec.http_port))
                password = new_password()
                _set_admin_password(site_dir, password)
                _private(site_dir)
                if user is not None:
                    siteusers.own(site_dir, user)
                    rec.user = user.name
                self.root.save(rec)
                self.run_process(rec)
            except BaseException:
                if rec.http_port:
                    self.end_process(rec)
                self.root.forget(name)
                shutil.rmtree(site_dir, ignore_errors=True)
                if made_user:
                    siteusers.delete_user(self.root.settings.user_prefix, name)
                raise
        return NewSite(
            name=name,
            url=created.url,
            agent_url=self.agent_url(name, rec.agent_port),
            local_url=self.local_url(rec.http_port),
            token=created.token,
            password=password,
            seconds=time.monotonic() - began,
        )

    def remove(self, name: str, *, purge: bool = False) -> bk.Backup | None:
        """Stop and delete a site; a final backup is kept unless ``purge``."""
        with self.root.locked():
            rec = self.root.record(name)
            self.end_process(rec)
            final = None
            if not purge:
                final = bk.make_backup(
                    self.root.site_dir(name), self.root.backups(name), name, rec.version
                )
            shutil.rmtree(self.root.site_dir(name), ignore_errors=True)
            if purge:
                shutil.rmtree(self.root.backups(name), ignore_errors=True)
                if rec.user:  # kept otherwise: a restore under the name takes it again
                    siteusers.delete_user(self.root.settings.user_prefix, name)
            self.root.forget(name)
            return final

    def _new_user(self, name: str) -> tuple[siteusers.SiteUser | None, bool]:
        """The Unix user of a new site (None when sites run as the manager's user) and
        whether it was made now (a failed create deletes it again)."""
        settings = self.root.settings
        if not siteusers.active(settings.site_users):
            return None, False
        siteusers.user_name(settings.user_prefix, name)  # too long: refused before any change
        for path in (self.root.path, self.root.sites):  # site users pass through, not list
            os.chmod(path, 0o711)
        os.chmod(self.root.path / ROOT_SETTINGS, 0o600)
        siteusers.check_reachable(self.root.site_dir(name), settings.user_prefix + name)
        siteusers.check_runnable()
        return siteusers.ensure_user(settings.user_prefix, name, self.root.site_dir(name))

    def own(self, rec: Record, path: Path) -> None:
        """A restored directory owned by the site's user again (when it has one)."""
        if not rec.user:
            return
        user = siteusers.lookup(rec.user)
        if user is None:
            prefix, home = self.root.settings.user_prefix, self.root.site_dir(rec.name)
            user, _ = siteusers.ensure_user(prefix, rec.name, home)
        siteusers.own(path, user)

    # ------------------------------------------------------------------ start / stop
    def start(self, name: str) -> Record:
        with self.root.locked():
            rec = self.root.record(name)
            rec.wanted = "running"
            self.root.save(rec)
            self.run_process(rec)
            return rec

    def stop(self, name: str) -> Record:
        with self.root.locked():
            rec = self.root.record(name)
            rec.wanted = "stopped"
            rec.crashes = 0
            self.end_process(rec)
            return rec

    def crashed(self, name: str, how: str) -> Record:
        """Note that the site's process ended (or did not start) while wanted running: one
        more crash in a row (the supervisor backs off by it, ``list`` shows it)."""
        with self.root.locked():
            rec = self.root.record(name)
            if alive(rec.pid, rec.started):  # started meanwhile (by the CLI, say)
                return rec
            rec.crashes += 1
            rec.last_exit = how
            rec.pid = rec.started = None
            self.root.save(rec)
            return rec

    def stable(self, name: str) -> None:
        """The site has run long enough after its crashes: the count starts again at 0."""
        with self.root.locked():
            rec = self.root.record(name)
            rec.crashes = 0
            self.root.save(rec)

    def run_process(self, rec: Record) -> None:
        """Start the site's process unless it runs, and wait until it answers /readyz (the
        caller holds the lock and has set ``rec.wanted``)."""
        if alive(rec.pid, rec.started):
            return
        self.launch_process(rec)
        try:
            self.await_ready(rec)
        except ConfigError:
            self.end_process(rec)
            raise

    def launch_process(self, rec: Record) -> None:
        """Start the site's process and record its pid (the caller holds the lock)."""
        site_dir = self.root.site_dir(rec.name)
        env = self._saas_env()
        if env:  # the file must agree: a site never starts with SaaS turned off
            _check_saas(site_dir)
        rec.pid = self.launcher_of(rec)(site_dir, {**env, SHARED_CORES: "1"})
        rec.started = started_at(rec.pid)
        self.root.save(rec)

    def launcher_of(self, rec: Record) -> Launcher:
        """This process's launcher for the imported version (or one not installed: see
        ``runs``); a registered other version's ``bin/lookout serve`` otherwise."""
        runs = self.runs(rec)
        return self.launch if runs == __version__ else Versions(self.root).launcher(runs)

    def runs(self, rec: Record) -> str:
        """The version the site runs: its record's, unless that is neither this installation's
        nor registered (the installation was upgraded in place): then this installation's."""
        if rec.version != __version__ and Versions(self.root).registered(rec.version):
            return rec.version
        return __version__

    def await_ready(self, rec: Record) -> None:
        """Until the launched process answers /readyz (no lock needed); ConfigError if not."""
        assert rec.pid is not None
        url = f"http://{self.root.settings.host}:{rec.http_port}"
        log = self.root.site_dir(rec.name) / SERVE_LOG
        wait_ready(url, rec.pid, rec.started, self.root.settings.ready_timeout, log)

    def end_process(self, rec: Record) -> None:
        """Stop the site's process, if any (``rec.wanted`` is left as the caller set it)."""
        if rec.pid is not None:
            stop_process(rec.pid, rec.started)
        rec.pid = rec.started = None
        self.root.save(rec)

    def local_url(self, http_port: int) -> str:
        host = self.root.settings.host
        return f"http://{'127.0.0.1' if host in ('0.0.0.0', '::', '') else host}:{http_port}"

    def url(self, name: str, http_port: int) -> str:
        door = self.root.settings.door
        return f"{door.url}/{name}" if door.listen else self.local_url(http_port)

    def agent_url(self, name: str, agent_port: int) -> str:
        door = self.root.settings.door
        if door.agent_listen:
            return door.agent_url(name)
        return f"https://{self.root.settings.host}:{agent_port}"

    def _site_settings(self, name: str, http: int, agent: int) -> dict[str, Any]:
        """A new site's settings: its name and ports, the front door's URLs and names, SaaS."""
        host = self.root.settings.host
        door = self.root.settings.door
        receiver: dict[str, Any] = {"listen": f"{host}:{agent}"}
        out: dict[str, Any] = {"site_name": name, "agent_receiver": receiver}
        if door.listen:
            out["public_url"] = f"{door.url}/{name}"
            out["trusted_proxies"] = ["127.0.0.1"]  # the front door (it connects from here)
        if door.agent_listen:
            receiver["hostnames"] = [door.agent_host(name)]  # the agents' SNI name
            receiver["public_url"] = door.agent_url(name)
        return {**out, **self._saas_settings()}

    def _saas_settings(self) -> dict[str, Any]:
        saas = self.root.settings.saas
        if not saas.enabled:
            return {}
        return {"saas": saas.model_dump(), "execution": {"enabled": False}}

    def _saas_env(self) -> dict[str, str]:
        """What a SaaS root's sites get in their environment, which wins over their files."""
        saas = self.root.settings.saas
        if not saas.enabled:
            return {}
        return {
            "LOOKOUT_SAAS__ENABLED": "true",
            "LOOKOUT_EXECUTION__ENABLED": "false",
            "LOOKOUT_SAAS__CHECK_TYPES": json.dumps(saas.check_types),
            "LOOKOUT_SAAS__CHANNEL_TYPES": json.dumps(saas.channel_types),
            "LOOKOUT_SAAS__ON_VIOLATION": saas.on_violation,
            "LOOKOUT_SAAS__RECHECK_INTERVAL": str(saas.recheck_interval),
        }

    # ------------------------------------------------------------------ list
    def rows(self) -> list[dict[str, Any]]:
        out = []
        for name in self.root.names():
            rec = self.root.record(name)
            running = alive(rec.pid, rec.started)
            state = "running" if running else ("failed" if rec.wanted == "running" else "stopped")
            backups = bk.list_backups(self.root.backups(name))
            out.append(
                {
                    "name": name,
                    "state": state,
                    "version": rec.version,
                    "runs": self.runs(rec),
                    "size": _size(self.root.site_dir(name)),
                    "last_backup": backups[-1].stat().st_mtime if backups else None,
                    "url": self.url(name, rec.http_port),
                    "agent_url": self.agent_url(name, rec.agent_port),
                    "local_url": self.local_url(rec.http_port),
                    "pid": rec.pid if running else None,
                    "user": rec.user or siteusers.name_of(os.geteuid()),
                    "own_user": bool(rec.user),
                    "crashes": rec.crashes,
                    "last_exit": rec.last_exit,
                }
            )
        return out

    # ------------------------------------------------------------------ backup / restore
    def backup(self, name: str) -> bk.Backup:
        """A consistent backup of a site, running or not; the oldest beyond ``backup_keep``
        are deleted."""
        rec = self.root.record(name)
        if alive(rec.pid, rec.started):
            bk.checkpoint_first(self.root.site_dir(name))
        made = bk.make_backup(self.root.site_dir(name), self.root.backups(name), name, rec.version)
        for old in bk.list_backups(self.root.backups(name))[: -self.root.settings.backup_keep]:
            old.unlink(missing_ok=True)
        return made

    def backups_due(self, now: float) -> list[str]:
        """Sites whose newest backup is older than ``backup_every`` (scheduled backups)."""
        every = self.root.settings.backup_every
        if not every:
            return []
        due = []
        for name in self.root.names():
            backups = bk.list_backups(self.root.backups(name))
            if not backups or now - backups[-1].stat().st_mtime >= every:
                due.append(name)
        return due

    def restore(
        self, name: str, backup: Path | None = None, *, as_name: str | None = None
    ) -> Record:
        """Bring a site back from ``backup`` (default: its newest); ``as_name``: as a new site
        with new ports and the same data."""
        with self.root.locked():
            source = backup or self._newest(name)
            if as_name is not None:
                return self._restore_as(source, as_name)
            rec = self.root.record(name)
            site_dir = self.root.site_dir(name)
            fresh = site_dir.with_name(f".{name}.restoring")
            shutil.rmtree(fresh, ignore_errors=True)
            bk.unpack(source, fresh)  # checked before the site is touched
            self.own(rec, fresh)
            was = rec.wanted
            self.end_process(rec)
            swap_in(fresh, site_dir)
            rec.wanted = was
            if was == "running":
                self.run_process(rec)
            return rec

    def _newest(self, name: str) -> Path:
        backups = bk.list_backups(self.root.backups(name))
        if not backups:
            raise ConfigError(f"site {name!r} has no backup in {self.root.backups(name)}")
        return backups[-1]

    def _restore_as(self, source: Path, name: str) -> Record:
        check_new_name(name)
        if self.root.exists(name) or self.root.site_dir(name).exists():
            raise Conflict(f"site {name!r} exists already")
        site_dir = self.root.site_dir(name)
        user, made_user = self._new_user(name)
        try:
            manifest = bk.unpack(source, site_dir)
            http, agent = self.root.free_ports(2)
            host = self.root.settings.host
            changes = self._site_settings(name, http, agent)  # a SaaS root's copy is SaaS too
            rewrite_settings(site_dir, {**changes, "listen": f"{host}:{http}"})
            _cli_url(site_dir, self.local_url(http))
            if user is not None:
                siteusers.own(site_dir, user)
        except BaseException:
            shutil.rmtree(site_dir, ignore_errors=True)
            if made_user:
                siteusers.delete_user(self.root.settings.user_prefix, name)
            raise
        rec = Record(
            name,
            http,
            agent,
            str(manifest.get("version", __version__)),
            time.time(),
            wanted="running",
            user=user.name if user else "",
        )
        self.root.save(rec)
        self.run_process(rec)
        return rec


def rewrite_settings(site_dir: Path, changes: dict[str, Any]) -> None:
    """Change keys of ``site_dir/lookout.toml`` (tables merged) and the CLI's URL."""
    path = site_dir / SETTINGS_FILE
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    for key, value in changes.items():
        data[key] = {**data.get(key, {}), **value} if isinstance(value, dict) else value
    settings = validate_settings(data, str(path), env=False)
    path.write_text(render_settings(settings), encoding="utf-8")
    creds = site_dir / CLI_CREDENTIALS
    if creds.exists():
        cli = json.loads(creds.read_text(encoding="utf-8"))
        creds.write_text(json.dumps({**cli, "url": settings.url}), encoding="utf-8")


def _cli_url(site_dir: Path, url: str) -> None:
    """The local CLI (``--site DIR``) talks to the site's own port: it works with or without
    the front door."""
    creds = site_dir / CLI_CREDENTIALS
    cli = json.loads(creds.read_text(encoding="utf-8"))
    creds.write_text(json.dumps({**cli, "url": url}), encoding="utf-8")


def swap_in(fresh: Path, site_dir: Path) -> None:
    """Put ``fresh`` in the place of ``site_dir`` (the old one is removed last)."""
    old = site_dir.with_name(f".{site_dir.name}.old")
    shutil.rmtree(old, ignore_errors=True)
    if site_dir.exists():
        os.replace(site_dir, old)
    os.replace(fresh, site_dir)
    shutil.rmtree(old, ignore_errors=True)


def _check_saas(site_dir: Path) -> None:
    path = site_dir / SETTINGS_FILE
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    if not data.get("saas", {}).get("enabled", False):
        raise ConfigError(
            f"{path}: [saas] enabled is not true, but this root runs every site in SaaS mode; "
            "the site is not started (set it back to true)"
        )


def _private(site_dir: Path) -> None:
    """The site's directory 0700, its settings 0600 (the database and keys are already)."""
    os.chmod(site_dir, 0o700)
    os.chmod(site_dir / SETTINGS_FILE, 0o600)


def _set_admin_password(site_dir: Path, password: str) -> None:
    from lookout.storage.database import open_database

    db = open_database(load_settings(site_dir).database(site_dir))
    try:
        set_password(db, "admin", password)
    finally:
        db.dispose()


def _size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) if path.is_dir() else 0
