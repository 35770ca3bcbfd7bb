"""Remote sites of a central site (issue 12)

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-05 02:10:00.000000

A site can show other sites' hosts, services and problems next to its own. ``remote_sites``
keeps each remote's URL, its API token (sealed with the site key, never in clear), the CA its
TLS must chain to, and whether plain http was allowed.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "remote_sites",
        sa.Column("name", sa.String(63), primary_key=True),
        sa.Column("url", sa.String(2048), nullable=False),
        sa.Column("token_sealed", sa.Text, nullable=False),
        sa.Column("ca_pem", sa.Text, nullable=False),
        sa.Column("allow_http", sa.Boolean, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("remote_sites")
