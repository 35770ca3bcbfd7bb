"""event handlers on hosts and services (issue 11)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04 22:10:00.000000

Adds ``event_handler`` (JSON: ``{"command", "args", "timeout"}``, NULL for none) to ``hosts``
and ``services``: a command definition the site runs on every state change of the object.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    for table in ("hosts", "services"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("event_handler", JSON, nullable=True))


def downgrade() -> None:
    for table in ("hosts", "services"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("event_handler")
