"""OpenID Connect identities (issue 13)

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-05 02:20:00.000000

Creates ``oidc_identities``: which provider subject (issuer, sub) is which Lookout user.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "oidc_identities",
        sa.Column("issuer", sa.String(500), primary_key=True),
        sa.Column("subject", sa.String(255), primary_key=True),
        sa.Column(
            "user",
            sa.String(255),
            sa.ForeignKey("users.name", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("last_login", sa.Float, nullable=False),
    )
    op.create_index("ix_oidc_identities_user", "oidc_identities", ["user"], unique=True)


def downgrade() -> None:
    op.drop_index("ix_oidc_identities_user", table_name="oidc_identities")
    op.drop_table("oidc_identities")
