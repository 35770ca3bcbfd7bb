"""Zulip accounts linked by user id, and the one-time codes that link them (issue 18)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04 23:30:00.000000

Zulip lets people hide their e-mail from bots, so a Zulip account is linked to a Lookout user
by its user id: ``chat_links`` (realm, Zulip user id → user) and ``chat_link_codes`` (the
SHA-256 of a one-time code the bot sent privately, until a Lookout user enters it).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "chat_links",
        sa.Column("realm", sa.String(255), primary_key=True),
        sa.Column("zulip_user_id", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column(
            "user",
            sa.String(255),
            sa.ForeignKey("users.name", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("full_name", sa.String(255), nullable=False),
        sa.Column("linked_at", sa.Float, nullable=False),
    )
    op.create_index("ix_chat_links_user", "chat_links", ["user"])
    op.create_table(
        "chat_link_codes",
        sa.Column("code_hash", sa.String(64), primary_key=True),
        sa.Column("realm", sa.String(255), nullable=False),
        sa.Column("zulip_user_id", sa.BigInteger, nullable=False),
        sa.Column("full_name", sa.String(255), nullable=False),
        sa.Column("expires_at", sa.Float, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("chat_link_codes")
    op.drop_index("ix_chat_links_user", "chat_links")
    op.drop_table("chat_links")
