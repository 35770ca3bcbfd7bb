"""the site's start time in the checkpoint (issue 17)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04 23:30:00.000000

Adds ``started_at`` to ``checkpoint``: when the site last started. Staleness counts from it,
so the site's own downtime does not make services stale; kept in the checkpoint so that a
replay after a crash judges staleness as the live run did.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("checkpoint") as batch:
        batch.add_column(sa.Column("started_at", sa.Float(), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("checkpoint") as batch:
        batch.drop_column("started_at")
