"""service dependencies (issue 15)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05 00:05:00.000000

Adds ``depends_on`` (JSON: a list of ``[host, service]`` pairs, empty for none) to
``services``: while a service it depends on has a problem, a service's own problem is
shown with that cause and does not notify on its own.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("services") as batch:
        batch.add_column(sa.Column("depends_on", JSON, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("services") as batch:
        batch.drop_column("depends_on")
