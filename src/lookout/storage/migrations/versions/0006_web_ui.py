"""web UI: sessions and user preferences (issue #6)

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23 18:00:00.000000

Creates ``ui_sessions``: server-side web UI sessions (cookie hash, user, role, CSRF token).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ui_sessions",
        sa.Column("id_hash", sa.String(64), primary_key=True),
        sa.Column(
            "user",
            sa.String(255),
            sa.ForeignKey("users.name", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("csrf", sa.String(64), nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("expires_at", sa.Float, nullable=False),
    )
    op.create_index("ix_ui_sessions_user", "ui_sessions", ["user"])


def downgrade() -> None:
    op.drop_index("ix_ui_sessions_user", table_name="ui_sessions")
    op.drop_table("ui_sessions")
