"""command definitions (issue 11)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04 22:00:00.000000

Creates ``commands``: the site's command definitions (Nagios ``command_name`` and
``command_line``) that services with ``{"type": "nagios"}`` checks run.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "commands",
        sa.Column("name", sa.String(128), primary_key=True),
        sa.Column("command_line", sa.Text, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("commands")
