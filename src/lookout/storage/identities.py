"""Users that log in through OpenID Connect: the provider's subject → the Lookout user, made at
the first log-in with the role the provider's groups map to, and given the role again at each
later log-in (the provider's groups stay the truth)."""

from __future__ import annotations

import sqlalchemy as sa

from lookout.errors import Conflict
from lookout.storage import tables as t


def log_in(
    db: sa.Engine, issuer: str, subject: str, wanted_name: str, role: str, email: str, now: float
) -> tuple[str, str | None]:
    """The user of (``issuer``, ``subject``) with ``role`` set now, and the role they had
    (None: made now, named ``wanted_name``, without a password). Conflict when that name is a
    user already (a local user, or another subject's): it is never taken over."""
    i, u = t.oidc_identities.c, t.users.c
    with db.begin() as conn:
        known = conn.execute(
            sa.select(i.user).where((i.issuer == issuer) & (i.subject == subject))
        ).first()
        if known is not None:
            old = conn.execute(sa.select(u.role).where(u.name == known.user)).scalar_one()
            conn.execute(
                sa.update(t.users).where(u.name == known.user).values(role=role, email=email)
            )
            conn.execute(
                sa.update(t.oidc_identities)
                .where((i.issuer == issuer) & (i.subject == subject))
                .values(last_login=now)
            )
            name: str = known.user
            return name, str(old)
        if conn.execute(sa.select(u.name).where(u.name == wanted_name)).first() is not None:
            raise Conflict(
                f"a user named {wanted_name!r} exists already and is not this provider's "
                "account: an admin renames or removes it"
            )
        conn.execute(
            t.users.insert().values(
                name=wanted_name, role=role, email=email, password_hash=None, created_at=now
            )
        )
        conn.execute(
            t.oidc_identities.insert().values(
                issuer=issuer, subject=subject, user=wanted_name, created_at=now, last_login=now
            )
        )
    return wanted_name, None
