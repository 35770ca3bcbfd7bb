"""Lookout versions installed side by side (``lookout sites versions``, issue 13).

``ROOT/versions/V`` is a directory with an executable ``bin/lookout`` of Lookout ``V`` (a
virtual environment with that version installed), or a symbolic link to one, made by
``lookout sites versions add V PATH``. The version this process imports is always there,
unregistered. A site's record names the version it runs; a site of another version is started
as ``PATH/bin/lookout serve`` (forking only gives the imported version) and migrated by
``PATH/bin/lookout migrate``. What a version is and which schema revisions it knows comes from
its own ``lookout version --json``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lookout import __version__
from lookout.errors import ConfigError, Conflict, NotFound
from lookout.manager import siteusers
from lookout.manager.processes import Launcher, clean_env, command_launcher, site_user
from lookout.manager.root import Root

VERSION_RE = re.compile(r"^[0-9A-Za-z][0-9A-Za-z.+_-]{0,63}$")
ASK_TIMEOUT = 120.0
"""Seconds ``bin/lookout version --json`` may take (a cold start on a busy machine)."""
MIGRATE_TIMEOUT = 3600.0


@dataclass(frozen=True)
class Installed:
    """One installed version: where, and the schema revisions it knows (oldest first)."""

    version: str
    path: Path
    revisions: tuple[str, ...]
    current: bool
    """The version this process imports (not registered: always there)."""

    @property
    def head(self) -> str:
        return self.revisions[-1]


def check_version(version: str) -> str:
    """A version name: it becomes a directory name."""
    if not VERSION_RE.match(version) or ".." in version:
        raise ConfigError(
            f"version {version!r}: expected 1-64 of A-Z, a-z, 0-9, '.', '+', '_' and '-', "
            "starting with a letter or digit"
        )
    return version


class Versions:
    def __init__(self, root: Root) -> None:
        self.root = root
        self.dir = root.path / "versions"

    def path(self, version: str) -> Path:
        return self.dir / check_version(version)

    def registered(self, version: str) -> bool:
        return _executable(self.path(version) / "bin" / "lookout")

    def available(self, version: str) -> bool:
        return version == __version__ or self.registered(version)

    def names(self) -> list[str]:
        """Registered versions (the imported one not included)."""
        if not self.dir.is_dir():
            return []
        return sorted(p.name for p in self.dir.iterdir() if _executable(p / "bin" / "lookout"))

    # ------------------------------------------------------------------ what a version is
    def describe(self, version: str) -> Installed:
        """The version's own account of itself (for another version: its ``lookout version``)."""
        if version == __version__:
            from lookout.storage.database import known_revisions

            return Installed(version, Path(sys.prefix), tuple(known_revisions()), current=True)
        if not self.registered(version):
            raise NotFound(
                f"Lookout {version} is not installed in {self.dir} (lookout sites versions add "
                f"{version} PATH); this installation is {__version__}"
            )
        path = self.path(version)
        return _ask(path, version)

    # ------------------------------------------------------------------ changes
    def add(self, version: str, path: Path) -> Installed:
        """Register ``path`` (a directory with ``bin/lookout``) as version ``version``."""
        check_version(version)
        if version == __version__:
            raise Conflict(f"{version} is this installation's own version: always available")
        path = path.resolve()
        if not _executable(path / "bin" / "lookout"):
            raise ConfigError(f"{path}: no executable bin/lookout (a virtual environment with "
                              "Lookout installed, say)")  # fmt: skip
        if path.is_relative_to(self.dir.resolve()):
            raise ConfigError(f"{path}: give a directory outside {self.dir}")
        if siteusers.active(self.root.settings.site_users):
            _check_open(path, lookout=path / "bin" / "lookout")
        found = _ask(path, version)
        with self.root.locked():
            link = self.path(version)
            if link.exists() or link.is_symlink():
                raise Conflict(f"version {version} is registered already ({link})")
            self.dir.mkdir(mode=0o700, exist_ok=True)
            link.symlink_to(path, target_is_directory=True)
        return found

    def remove(self, version: str) -> None:
        """Forget a version (its directory is left where it is); refused while a site runs it
        or an update goes to or from it."""
        check_version(version)
        if version == __version__:
            raise Conflict(f"{version} is this installation's own version: it cannot be removed")
        with self.root.locked():
            link = self.path(version)
            if not (link.exists() or link.is_symlink()):
                raise NotFound(f"version {version} is not registered in {self.dir}")
            users = self.users(version)
            if users:
                raise Conflict(
                    f"version {version} is in use by {', '.join(users)}: update them to "
                    "another version first (lookout sites update NAME --to V)"
                )
            if link.is_symlink():
                link.unlink()
            else:  # a directory put there by hand
                shutil.rmtree(link)

    def users(self, version: str) -> list[str]:
        """Sites that run ``version``, or whose unfinished update goes to or from it."""
        out = []
        for name in self.root.names():
            try:
                rec = self.root.record(name)
            except (NotFound, ConfigError):
                continue
            state = _update_state(self.root, name)
            if version in (rec.version, state.get("to"), state.get("from")):
                out.append(name)
        return out

    # ------------------------------------------------------------------ running a version
    def launcher(self, version: str) -> Launcher:
        """Starts a site with ``version``'s ``bin/lookout serve``."""
        if not self.registered(version):
            raise NotFound(f"Lookout {version} is not installed in {self.dir}")
        return command_launcher([str(self.path(version) / "bin" / "lookout"), "serve"], clean=True)

    def migrate(self, version: str, site_dir: Path) -> None:
        """Bring the site's database to ``version``'s newest schema with that version's code."""
        lookout = self.path(version) / "bin" / "lookout"
        user_env, as_user = site_user(site_dir)  # files it makes stay the site user's
        try:
            done = subprocess.run(
                [str(lookout), "migrate", str(site_dir)], capture_output=True, text=True,
                timeout=MIGRATE_TIMEOUT, env={**clean_env(), **user_env},
                stdin=subprocess.DEVNULL, **as_user,
            )  # fmt: skip
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise ConfigError(f"{lookout} migrate: {exc}") from exc
        if done.returncode != 0:
            raise ConfigError(f"{lookout} migrate failed (exit {done.returncode}): "
                              f"{_tail(done.stdout + done.stderr)}")  # fmt: skip


_ASKED: dict[tuple[str, float], Installed] = {}
_ASKING = threading.Lock()


def _ask(path: Path, version: str) -> Installed:
    """``path/bin/lookout version --json``, checked to be ``version``; asked once per process
    while ``bin/lookout`` is unchanged (an update of many sites asks once)."""
    lookout = path / "bin" / "lookout"
    try:
        key = (str(lookout.resolve()), lookout.stat().st_mtime)
    except OSError as exc:
        raise ConfigError(f"{lookout}: {exc}") from exc
    with _ASKING:
        known = _ASKED.get(key)
        if known is None:
            known = _ASKED[key] = _ask_now(lookout)
    if known.version != version:
        raise ConfigError(f"{lookout} is Lookout {known.version}, not {version}")
    return Installed(version, path, known.revisions, current=False)


def _ask_now(lookout: Path) -> Installed:
    try:
        done = subprocess.run(
            [str(lookout), "version", "--json"], capture_output=True, text=True,
            timeout=ASK_TIMEOUT, env=clean_env(), stdin=subprocess.DEVNULL,
        )  # fmt: skip
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ConfigError(f"{lookout} version --json: {exc}") from exc
    if done.returncode != 0:
        raise ConfigError(
            f"{lookout} version --json failed (exit {done.returncode}; versions side by side "
            f"need a Lookout that has this command): {_tail(done.stdout + done.stderr)}"
        )
    try:
        answer: Any = json.loads(done.stdout.strip().splitlines()[-1])
        found = answer["version"]
        revisions = answer["revisions"]
        if not isinstance(found, str) or not isinstance(revisions, list) or not revisions:
            raise ValueError("version or revisions missing")
        if not all(isinstance(r, str) for r in revisions):
            raise ValueError("revisions: not all strings")
    except (ValueError, KeyError, IndexError, TypeError) as exc:
        raise ConfigError(f"{lookout} version --json: unexpected answer ({exc}): "
                          f"{_tail(done.stdout)}") from exc  # fmt: skip
    return Installed(found, lookout.parent.parent, tuple(revisions), current=False)


def _check_open(path: Path, lookout: Path) -> None:
    """Sites run as users of their own: they must be able to run ``lookout`` and the Python
    its first line names, and read the installation."""
    paths = [path, lookout.resolve()]
    first = lookout.read_bytes()[:512].split(b"\n", 1)[0]
    if first.startswith(b"#!"):
        interpreter = first[2:].decode(errors="replace").strip().split(" ")[0]
        if interpreter.startswith("/") and Path(interpreter).exists():
            paths.append(Path(interpreter).resolve())
    for p in paths:
        closed = [d for d in p.parents if not d.stat().st_mode & stat.S_IXOTH]
        if closed or not p.stat().st_mode & stat.S_IROTH:
            where = f"{closed[-1]} does not let other users through" if closed else "unreadable"
            raise ConfigError(
                f"the sites' own users cannot run {lookout}: {p}: {where}; install it where "
                "every user can read it (as /opt), or set site_users = false in manager.toml"
            )


def _update_state(root: Root, name: str) -> dict[str, Any]:
    try:
        data = json.loads((root.path / "state" / f"{name}.update").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _executable(path: Path) -> bool:
    return path.is_file() and os.access(path, os.X_OK)


def _tail(text: str) -> str:
    return " | ".join(text.strip().splitlines()[-6:]) or "(no output)"
