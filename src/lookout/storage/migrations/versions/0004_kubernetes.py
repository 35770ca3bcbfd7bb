"""kubernetes: connected clusters and discovered objects (issue #4)

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 18:00:00.000000

Creates ``kube_clusters``: the clusters a site monitors, with the encrypted token.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "kube_clusters",
        sa.Column("name", sa.String(63), primary_key=True),
        sa.Column("server", sa.String(1024), nullable=False),
        sa.Column("ca_data", sa.Text(), nullable=False, server_default=""),
        sa.Column("token_encrypted", sa.Text(), nullable=True),
        sa.Column("token_file", sa.String(1024), nullable=True),
        sa.Column("client_cert", sa.Text(), nullable=False, server_default=""),
        sa.Column("client_key_encrypted", sa.Text(), nullable=True),
        sa.Column("insecure", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column(
            "options",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("kube_clusters")
