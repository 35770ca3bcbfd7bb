"""Remote sites of a central site (table ``remote_sites``); tokens sealed with the vault."""

from __future__ import annotations

import msgspec
import sqlalchemy as sa

from lookout.errors import Conflict, NotFound
from lookout.storage import tables as t
from lookout.storage.vault import Vault

_R = t.remote_sites.c


class RemoteRow(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    url: str
    token: str
    """In clear, in memory only."""
    ca_pem: str
    allow_http: bool
    created_at: float


def list_remotes(db: sa.Engine, vault: Vault) -> list[RemoteRow]:
    with db.connect() as conn:
        rows = conn.execute(sa.select(t.remote_sites).order_by(_R.name)).all()
    return [
        RemoteRow(
            name=r.name,
            url=r.url,
            token=vault.open(r.token_sealed),
            ca_pem=r.ca_pem,
            allow_http=r.allow_http,
            created_at=r.created_at,
        )
        for r in rows
    ]


def add_remote(db: sa.Engine, vault: Vault, row: RemoteRow) -> None:
    sealed = vault.seal(row.token)
    with db.begin() as conn:
        if conn.execute(sa.select(_R.name).where(_R.name == row.name)).first() is not None:
            raise Conflict(f"remote site {row.name!r} exists; remove it first to change it")
        conn.execute(
            t.remote_sites.insert().values(
                name=row.name,
                url=row.url,
                token_sealed=sealed,
                ca_pem=row.ca_pem,
                allow_http=row.allow_http,
                created_at=row.created_at,
            )
        )


def remove_remote(db: sa.Engine, name: str) -> None:
    with db.begin() as conn:
        if conn.execute(sa.delete(t.remote_sites).where(_R.name == name)).rowcount == 0:
            raise NotFound(f"remote site {name!r} not found")
