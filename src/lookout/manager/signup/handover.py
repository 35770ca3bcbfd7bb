"""Handing a new site to the customer who signed up: their account becomes the site's admin
(the same password hash, so the same password works there) and a one-time log-in link logs
them in right away. Works on the site's database like ``lookout user passwd`` does; the site
may be running (SQLite in WAL mode takes a second writer)."""

from __future__ import annotations

import os
import time
from pathlib import Path

from lookout.config import load_settings
from lookout.domain.audit import Entry
from lookout.manager.signup.flow import LINK_SECONDS
from lookout.storage import accounts, audit, loginlinks
from lookout.storage.database import open_database


def hand_over(site_dir: Path, email: str, password_hash: str) -> str:
    """Add ``email`` as an admin of the site; a one-time log-in token for them."""
    settings = load_settings(site_dir)
    db = open_database(settings.database(site_dir))
    try:
        now = time.time()
        accounts.add_user(db, email, "admin", now, email=email, password_hash=password_hash)
        after = {"role": "admin", "via": "sign-up"}
        entry = Entry(now, "sign-up", "system", "", "user", email, "create", after=after)
        audit.append_now(db, entry)
        return loginlinks.issue(db, email, now, LINK_SECONDS)
    finally:
        db.dispose()


SECRET_FILE = "oidc-client-secret"


def connect_sso(site_dir: Path, issuer: str, email: str, secret: str) -> None:
    """Make the site log its owner in through the control plane: ``[oidc]`` with this root's
    issuer, the client secret in a 0600 file, and ``email`` already tied to the provider's
    subject (the owner is the admin user made by :func:`hand_over`). Takes effect at the
    site's next start."""
    from lookout.manager.manager import rewrite_settings
    from lookout.manager.siteusers import own_like_dir
    from lookout.storage import tables as t

    path = site_dir / SECRET_FILE
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(secret + "\n")
    own_like_dir(site_dir, path)  # the site's own user reads it
    rewrite_settings(
        site_dir,
        {
            "oidc": {
                "issuer": issuer,
                "client_id": site_dir.name,
                "client_secret_file": SECRET_FILE,
                "display_name": "your Lookout account",
                "scopes": ["openid", "email", "groups"],
                "role_map": {"owner": "admin"},
            }
        },
    )
    settings = load_settings(site_dir)
    db = open_database(settings.database(site_dir))
    try:
        with db.begin() as conn:
            now = time.time()
            conn.execute(
                t.oidc_identities.insert().values(
                    issuer=issuer, subject=email, user=email, created_at=now, last_login=now
                )
            )
    finally:
        db.dispose()
