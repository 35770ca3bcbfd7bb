"""TOTP second factor for local users (issue 13)

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-05 02:10:00.000000

Creates ``user_totp`` (a user's sealed TOTP seed, whether it was confirmed, the last time step
a code was accepted for) and ``totp_recovery`` (hashes of one-time recovery codes).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "user_totp",
        sa.Column(
            "user",
            sa.String(255),
            sa.ForeignKey("users.name", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("sealed_secret", sa.Text, nullable=False),
        sa.Column("confirmed_at", sa.Float, nullable=True),
        sa.Column("last_step", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("created_at", sa.Float, nullable=False),
    )
    op.create_table(
        "totp_recovery",
        sa.Column(
            "user",
            sa.String(255),
            sa.ForeignKey("users.name", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("code_hash", sa.String(64), primary_key=True),
    )


def downgrade() -> None:
    op.drop_table("totp_recovery")
    op.drop_table("user_totp")
