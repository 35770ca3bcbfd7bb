"""Handing a new site to the customer who signed up: their account becomes the site's admin
(the same password hash, so the same password works there) and a one-time log-in link logs
them in right away. Works on the site's database like ``lookout user passwd`` does; the site
may be running (SQLite in WAL mode takes a second writer)."""

from __future__ import annotations

import time
from pathlib import Path

from lookout.config import load_settings
from lookout.manager.signup.flow import LINK_SECONDS
from lookout.storage import accounts, loginlinks
from lookout.storage.database import open_database


def hand_over(site_dir: Path, email: str, password_hash: str) -> str:
    """Add ``email`` as an admin of the site; a one-time log-in token for them."""
    settings = load_settings(site_dir)
    db = open_database(settings.database(site_dir))
    try:
        now = time.time()
        accounts.add_user(db, email, "admin", now, email=email, password_hash=password_hash)
        return loginlinks.issue(db, email, now, LINK_SECONDS)
    finally:
        db.dispose()
