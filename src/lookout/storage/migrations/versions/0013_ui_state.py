"""web UI state that survives a restart: failed log-ins, texts shown once (issue 17)

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-04 23:45:00.000000

Creates ``login_failures`` (what the log-in throttle counts, kept for its window) and
``ui_shown_once`` (a new API token or agent registration command, sealed with the site key,
until its page shows it or it expires).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "login_failures",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("key", sa.String(300), nullable=False),
        sa.Column("at", sa.Float, nullable=False),
    )
    op.create_index("ix_login_failures_key", "login_failures", ["key"])
    op.create_index("ix_login_failures_at", "login_failures", ["at"])
    op.create_table(
        "ui_shown_once",
        sa.Column("session", sa.String(64), primary_key=True),
        sa.Column("kind", sa.String(32), primary_key=True),
        sa.Column("sealed", sa.Text, nullable=False),
        sa.Column("expires_at", sa.Float, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("ui_shown_once")
    op.drop_index("ix_login_failures_at", table_name="login_failures")
    op.drop_index("ix_login_failures_key", table_name="login_failures")
    op.drop_table("login_failures")
