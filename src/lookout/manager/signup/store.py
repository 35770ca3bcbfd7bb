"""The control plane's sign-up database, ``ROOT/signup.db`` (SQLite, 0600): customer accounts,
pending codes and the throttle's recent requests. Small and separate from every site's own
database; its tables are made at open (``create_all``) — they are new with this file, and a
later change of them gets an Alembic chain of its own."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

metadata = sa.MetaData()

accounts = sa.Table(
    "signup_accounts",
    metadata,
    sa.Column("email", sa.String(255), primary_key=True),
    sa.Column("password_hash", sa.String(255), nullable=False),
    sa.Column("site", sa.String(64), nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
)
codes = sa.Table(
    "signup_codes",
    metadata,
    sa.Column("email", sa.String(255), primary_key=True),
    sa.Column("code_hash", sa.String(64), nullable=False),
    sa.Column("expires_at", sa.Float, nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("verified_hash", sa.String(64), nullable=True),
)
requests = sa.Table(
    "signup_requests",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("key", sa.String(300), nullable=False, index=True),
    sa.Column("at", sa.Float, nullable=False, index=True),
)


def digest(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Code:
    code_hash: str
    expires_at: float
    attempts: int
    verified_hash: str | None


class SignupStore:
    def __init__(self, path: Path) -> None:
        fresh = not path.exists()
        self.db = sa.create_engine(f"sqlite:///{path}")
        metadata.create_all(self.db)
        if fresh:
            os.chmod(path, 0o600)

    def close(self) -> None:
        self.db.dispose()

    # ------------------------------------------------------------------ throttle
    def count(self, key: str, since: float) -> int:
        r = requests.c
        with self.db.connect() as conn:
            query = sa.select(sa.func.count()).where((r.key == key) & (r.at > since))
            return int(conn.execute(query).scalar_one())

    def note(self, keys: list[str], now: float, forget_before: float) -> None:
        with self.db.begin() as conn:
            conn.execute(requests.insert(), [{"key": k, "at": now} for k in keys])
            conn.execute(sa.delete(requests).where(requests.c.at <= forget_before))

    # ------------------------------------------------------------------ accounts
    def account_site(self, email: str) -> str | None:
        with self.db.connect() as conn:
            row = conn.execute(sa.select(accounts.c.site).where(accounts.c.email == email)).first()
        return None if row is None else str(row.site)

    def add_account(self, email: str, password_hash: str, site: str, now: float) -> None:
        with self.db.begin() as conn:
            conn.execute(
                accounts.insert().values(
                    email=email, password_hash=password_hash, site=site, created_at=now
                )
            )
            conn.execute(sa.delete(codes).where(codes.c.email == email))

    # ------------------------------------------------------------------ codes
    def put_code(self, email: str, code_hash: str, expires_at: float) -> None:
        """A new code for ``email`` (the one before it stops working)."""
        with self.db.begin() as conn:
            conn.execute(sa.delete(codes).where(codes.c.email == email))
            conn.execute(
                codes.insert().values(
                    email=email, code_hash=code_hash, expires_at=expires_at, attempts=0
                )
            )

    def code(self, email: str) -> Code | None:
        c = codes.c
        with self.db.connect() as conn:
            row = conn.execute(
                sa.select(c.code_hash, c.expires_at, c.attempts, c.verified_hash).where(
                    c.email == email
                )
            ).first()
        return None if row is None else Code(*row)

    def count_attempt(self, email: str) -> None:
        with self.db.begin() as conn:
            conn.execute(
                sa.update(codes).where(codes.c.email == email).values(attempts=codes.c.attempts + 1)
            )

    def verified(self, email: str, verified_hash: str, expires_at: float) -> None:
        """The code was right: the account form's token, good until ``expires_at``."""
        with self.db.begin() as conn:
            conn.execute(
                sa.update(codes)
                .where(codes.c.email == email)
                .values(verified_hash=verified_hash, expires_at=expires_at)
            )


clients = sa.Table(
    "signup_clients",
    metadata,
    sa.Column("site", sa.String(64), primary_key=True),
    sa.Column("secret_hash", sa.String(64), nullable=False),
)
"""Each signed-up site as an OpenID Connect client of the control plane: its secret's hash."""


def put_client(store: SignupStore, site: str, secret_hash: str) -> None:
    with store.db.begin() as conn:
        conn.execute(sa.delete(clients).where(clients.c.site == site))
        conn.execute(clients.insert().values(site=site, secret_hash=secret_hash))


def client_secret_hash(store: SignupStore, site: str) -> str | None:
    with store.db.connect() as conn:
        row = conn.execute(sa.select(clients.c.secret_hash).where(clients.c.site == site)).first()
    return None if row is None else str(row.secret_hash)


more_sites = sa.Table(
    "signup_sites",
    metadata,
    sa.Column("site", sa.String(64), primary_key=True),
    sa.Column("email", sa.String(255), nullable=False, index=True),
    sa.Column("created_at", sa.Float, nullable=False),
)
"""An account's sites after its first (the first is ``signup_accounts.site``)."""


def sites_of(store: SignupStore, email: str) -> list[str]:
    """Every site of ``email``'s account, the first first ([] without an account)."""
    with store.db.connect() as conn:
        first = conn.execute(sa.select(accounts.c.site).where(accounts.c.email == email)).first()
        if first is None:
            return []
        more = conn.execute(
            sa.select(more_sites.c.site)
            .where(more_sites.c.email == email)
            .order_by(more_sites.c.created_at)
        ).scalars()
        return [str(first.site), *map(str, more)]


def add_site(store: SignupStore, email: str, site: str, now: float) -> None:
    with store.db.begin() as conn:
        conn.execute(more_sites.insert().values(site=site, email=email, created_at=now))


def account(store: SignupStore, email: str) -> tuple[str, str] | None:
    """(password hash, site) of ``email``'s account."""
    with store.db.connect() as conn:
        row = conn.execute(
            sa.select(accounts.c.password_hash, accounts.c.site).where(accounts.c.email == email)
        ).first()
    return None if row is None else (str(row.password_hash), str(row.site))
