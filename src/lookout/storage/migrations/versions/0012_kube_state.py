"""kubernetes: what the checks remember, kept across restarts (issue 15)

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04 23:40:00.000000

Creates ``kube_state``: per cluster, the checks' remembered values (msgpack) and the grace
timers of vanished objects, so a site restart changes no verdict.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "kube_state",
        sa.Column("cluster", sa.String(63), primary_key=True),
        sa.Column("memory", sa.LargeBinary(), nullable=False),
        sa.Column(
            "vanished",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("saved_at", sa.Float(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("kube_state")
