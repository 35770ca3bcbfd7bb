"""Silences in Alertmanager tied to Lookout services (issue 14)

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-05 00:05:00.000000

An ack or downtime of a service made by Alertmanager's webhook becomes a silence there; a
silence made there acknowledges the service here. ``alertmanager_silences`` keeps which
silence belongs to which service and why, so that removing the one expires the other.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "alertmanager_silences",
        sa.Column("silence_id", sa.String(64), primary_key=True),
        sa.Column("host", sa.String(255), primary_key=True),
        sa.Column("service", sa.String(255), primary_key=True),
        sa.Column("reason", sa.String(64), nullable=False),
        sa.Column("origin", sa.String(16), nullable=False),
        sa.Column("author", sa.String(255), nullable=False),
        sa.Column("ends_at", sa.Float, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("alertmanager_silences")
