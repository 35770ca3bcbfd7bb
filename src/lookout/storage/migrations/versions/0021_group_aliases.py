"""Aliases of host and service groups (issue 11)

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-05 02:35:00.000000

Groups exist through their members (a host's ``groups``, a service's ``service_groups`` label);
``group_aliases`` keeps the longer name a group is shown with (Nagios's ``alias``), set by
``config apply`` (``groups.yaml``) and ``import nagios``.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "group_aliases",
        sa.Column("kind", sa.String(16), primary_key=True),
        sa.Column("name", sa.String(255), primary_key=True),
        sa.Column("alias", sa.String(255), nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("group_aliases")
