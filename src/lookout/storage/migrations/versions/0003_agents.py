"""agents: registration tokens, agent certificates, value store (issue #3)

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 18:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "agent_tokens",
        sa.Column("hash", sa.String(64), primary_key=True),
        sa.Column("host", sa.String(255), nullable=False),
        sa.Column("created_by", sa.String(255), nullable=False, server_default=""),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("expires_at", sa.Float, nullable=False),
        sa.Column("used_at", sa.Float, nullable=True),
    )
    op.create_index("ix_agent_tokens_host", "agent_tokens", ["host"])
    op.create_table(
        "agent_certs",
        sa.Column("serial", sa.String(40), primary_key=True),
        sa.Column("fingerprint", sa.String(64), nullable=False, unique=True),
        sa.Column("uuid", sa.String(36), nullable=False),
        sa.Column("host", sa.String(255), nullable=False),
        sa.Column("issued_at", sa.Float, nullable=False),
        sa.Column("not_after", sa.Float, nullable=False),
        sa.Column("revoked_at", sa.Float, nullable=True),
        sa.Column("revoked_reason", sa.String(255), nullable=False, server_default=""),
    )
    op.create_index("ix_agent_certs_uuid", "agent_certs", ["uuid"])
    op.create_index("ix_agent_certs_host", "agent_certs", ["host"])
    op.create_table(
        "agent_values",
        sa.Column("host", sa.String(255), primary_key=True),
        sa.Column("data", sa.LargeBinary, nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("agent_values")
    op.drop_index("ix_agent_certs_host", "agent_certs")
    op.drop_index("ix_agent_certs_uuid", "agent_certs")
    op.drop_table("agent_certs")
    op.drop_index("ix_agent_tokens_host", "agent_tokens")
    op.drop_table("agent_tokens")
