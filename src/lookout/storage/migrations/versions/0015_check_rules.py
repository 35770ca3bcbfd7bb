"""Check rules: parameters for a check type on the checks a rule matches (issue 11)

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-05 02:10:00.000000

A rule names a check type, matches checks by host/service names and labels, and sets
parameters of that type (``tls`` warn/crit days, ``ping`` levels, ``http`` timeout). Rules
are evaluated in ``position`` order; ``spec`` holds the validated rule.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "check_rules",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("spec", JSON, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("check_rules")
