"""One-time log-in links (issue 13)

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-05 02:35:00.000000

Creates ``login_links``: the SHA-256 of a one-time log-in token, its user and its end. The site
manager's sign-up logs a new customer in to their first site with one.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "login_links",
        sa.Column("token_hash", sa.String(64), primary_key=True),
        sa.Column(
            "user",
            sa.String(255),
            sa.ForeignKey("users.name", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("expires_at", sa.Float, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("login_links")
