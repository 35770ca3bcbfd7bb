"""Backups of a site: consistent while it runs, verified before anything is restored.

A backup is one tar file holding ``manifest.json`` (site, version, time, every file's size
and SHA-256) and the site directory: the database copied with SQLite's online backup API
(one step, so one consistent snapshot while the site keeps taking results; the journal in it
is replayed at the next start like after any stop), the CA and its keys, the vault key, the
settings and the CLI credentials. ``serve.log`` and ``run/`` (sockets) are left out.

Before copying a running site, the manager asks it for a checkpoint (``POST
/api/v1/checkpoint`` with the site's own CLI credentials) and waits for it: the copy then holds
the site's state with next to no journal, so what was removed just before the backup (a host
and its events) does not come back when the journal is replayed at restore.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import sqlite3
import tarfile
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from lookout.errors import ConfigError
from lookout.sites.site import CLI_CREDENTIALS

log = logging.getLogger(__name__)
CHECKPOINT_TIMEOUT = 60.0

MANIFEST = "manifest.json"
DATABASE = "lookout.db"
JOURNAL = "lookout.journal.db"
"""The journal's own file (``storage.journal``): copied before the database, so the copy of
the database's checkpoint is never older than what the journal copy has already dropped."""
SKIPPED = {
    "serve.log",
    "run",
    *(name + s for name in (DATABASE, JOURNAL) for s in ("", "-wal", "-shm", "-journal")),
}


@dataclass(frozen=True)
class Backup:
    path: Path
    site: str
    version: str
    created_at: float


def make_backup(site_dir: Path, dest: Path, site: str, version: str) -> Backup:
    """Write a backup of ``site_dir`` (running or not) into ``dest``; its path."""
    dest.mkdir(mode=0o700, parents=True, exist_ok=True)
    now = time.time()
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime(now)) + f"{now % 1:.6f}"[1:]
    with tempfile.TemporaryDirectory(dir=dest, prefix=".backup-") as tmp:
        work = Path(tmp) / "site"
        work.mkdir()
        if (site_dir / JOURNAL).is_file():
            _copy_database(site_dir / JOURNAL, work / JOURNAL)
        _copy_database(site_dir / DATABASE, work / DATABASE)
        for path in sorted(site_dir.rglob("*")):
            rel = path.relative_to(site_dir)
            if rel.parts[0] in SKIPPED or path.is_dir() or not path.is_file():
                continue
            (work / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, work / rel)
        manifest = {
            "format": 1,
            "site": site,
            "version": version,
            "created_at": now,
            "files": {
                str(p.relative_to(work)): {"size": p.stat().st_size, "sha256": _sha256(p)}
                for p in sorted(work.rglob("*"))
                if p.is_file()
            },
        }
        (Path(tmp) / MANIFEST).write_text(json.dumps(manifest, indent=1), encoding="utf-8")
        final = dest / f"{site}-{stamp}.tar"
        partial = final.with_suffix(".partial")
        with tarfile.open(partial, "w") as tar:
            tar.add(Path(tmp) / MANIFEST, MANIFEST)
            tar.add(work, "site")
        os.chmod(partial, 0o600)
        os.replace(partial, final)  # a backup that exists is complete
    return Backup(final, site, version, now)


def checkpoint_first(site_dir: Path) -> bool:
    """Ask the running site in ``site_dir`` to store a checkpoint and wait for it; False (and a
    warning: the backup is then crash-consistent only) when it cannot be reached."""
    try:
        creds = json.loads((site_dir / CLI_CREDENTIALS).read_text(encoding="utf-8"))
        with httpx.Client(
            base_url=creds["url"],
            headers={"Authorization": f"Bearer {creds['token']}"},
            timeout=CHECKPOINT_TIMEOUT,
        ) as http:
            http.post("/api/v1/checkpoint").raise_for_status()
    except (OSError, ValueError, KeyError, httpx.HTTPError) as exc:
        log.warning(
            "%s: no checkpoint before the backup (%s); the journal is copied", site_dir, exc
        )
        return False
    return True


def _copy_database(src: Path, dst: Path) -> None:
    if not src.is_file():
        raise ConfigError(f"{src} not found: only sites on SQLite can be backed up here")
    source = sqlite3.connect(src, timeout=30)
    target = sqlite3.connect(dst)
    try:
        source.backup(target)  # pages=-1: one step, one snapshot
    finally:
        target.close()
        source.close()
    os.chmod(dst, 0o600)


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def list_backups(dest: Path) -> list[Path]:
    """Complete backups in ``dest``, oldest first."""
    return sorted(dest.glob("*.tar")) if dest.is_dir() else []


def unpack(backup: Path, into: Path) -> dict[str, Any]:
    """Extract ``backup``'s site directory to ``into`` (which must not exist) and check every
    file against the manifest; the manifest. Nothing is left in ``into`` on failure."""
    if not backup.is_file():
        raise ConfigError(f"no backup at {backup}")
    tmp = Path(tempfile.mkdtemp(dir=into.parent, prefix=".restore-"))
    try:
        try:
            with tarfile.open(backup) as tar:
                _extract(tar, tmp)
            manifest: dict[str, Any] = json.loads((tmp / MANIFEST).read_text(encoding="utf-8"))
        except (tarfile.TarError, OSError, ValueError) as exc:
            raise ConfigError(f"{backup}: not a readable backup: {exc}") from exc
        _verify(tmp / "site", manifest, backup)
        os.chmod(tmp / "site", 0o700)
        os.replace(tmp / "site", into)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return manifest


def _extract(tar: tarfile.TarFile, into: Path) -> None:
    """Only plain files and directories under ``into`` (a backup holds nothing else), with
    the ``data`` filter where this Python has it (3.11.4+; Debian 12's 3.11.2 has not)."""
    members = tar.getmembers()
    for m in members:
        parts = Path(m.name).parts
        if not (m.isfile() or m.isdir()) or m.name.startswith("/") or ".." in parts:
            raise ConfigError(f"unexpected member {m.name!r} (not a plain file or directory)")
    if hasattr(tarfile, "data_filter"):
        tar.extractall(into, members, filter="data")
    else:
        tar.extractall(into, members)  # members checked above


def _verify(work: Path, manifest: dict[str, Any], backup: Path) -> None:
    files: dict[str, dict[str, Any]] = manifest.get("files", {})
    present = {str(p.relative_to(work)) for p in work.rglob("*") if p.is_file()}
    problems = [f"{name}: not listed in the manifest" for name in sorted(present - set(files))]
    for name, meta in sorted(files.items()):
        path = work / name
        if not path.is_file():
            problems.append(f"{name}: missing")
        elif _sha256(path) != meta.get("sha256"):
            problems.append(f"{name}: checksum differs from the manifest")
    if problems:
        raise ConfigError(f"{backup}: damaged backup, nothing restored", problems)
