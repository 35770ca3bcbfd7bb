"""notifications: rules, channels, outbox, deliveries, chat message map (issue #5)

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 18:00:00.000000

Channels, rules and contacts (configuration, edited through the API/CLI), the notifier's event
cursor, the outbox (``notify_deliveries``), per-object notification state, and the Zulip
problem messages and handled reactions of the chat bot.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "notify_channels",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("type", sa.String(16), nullable=False),
        sa.Column("spec", JSON, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
    )
    op.create_table(
        "notify_rules",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("spec", JSON, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
    )
    op.create_table(
        "notify_contacts",
        sa.Column(
            "user",
            sa.String(255),
            sa.ForeignKey("users.name", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("groups", JSON, nullable=False),
        sa.Column("zulip", sa.String(255), nullable=False, server_default=""),
        sa.Column("updated_at", sa.Float, nullable=False),
    )
    op.create_table(
        "notify_cursor",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("event_id", sa.BigInteger, nullable=False),
        sa.Column("at", sa.Float, nullable=False),
    )
    op.create_table(
        "notify_deliveries",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("key", sa.String(255), nullable=False, unique=True),
        sa.Column("event_id", sa.BigInteger, nullable=False),
        sa.Column("kind", sa.String(24), nullable=False),
        sa.Column("rule", sa.String(64), nullable=False),
        sa.Column("channel", sa.String(64), nullable=False),
        sa.Column("recipient", sa.String(255), nullable=False),
        sa.Column("host", sa.String(255), nullable=False),
        sa.Column("service", sa.String(255), nullable=False),
        sa.Column("number", sa.Integer, nullable=False),
        sa.Column("payload", JSON, nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("due_at", sa.Float, nullable=False),
        sa.Column("sent_at", sa.Float, nullable=True),
        sa.Column("error", sa.Text, nullable=False),
        sa.Column("external_id", sa.String(64), nullable=False),
    )
    op.create_index("ix_notify_deliveries_status_due", "notify_deliveries", ["status", "due_at"])
    op.create_index("ix_notify_deliveries_object", "notify_deliveries", ["host", "service"])
    op.create_table(
        "notify_objects",
        sa.Column("host", sa.String(255), primary_key=True),
        sa.Column("service", sa.String(255), primary_key=True),
        sa.Column("problem_id", sa.BigInteger, nullable=False),
        sa.Column("number", sa.Integer, nullable=False),
        sa.Column("last_sent_at", sa.Float, nullable=False),
        sa.Column("recipients", JSON, nullable=False),
    )
    op.create_table(
        "chat_messages",
        sa.Column("channel", sa.String(64), primary_key=True),
        sa.Column("message_id", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("host", sa.String(255), primary_key=True),
        sa.Column("service", sa.String(255), primary_key=True),
        sa.Column("stream", sa.String(255), nullable=False),
        sa.Column("topic", sa.String(255), nullable=False),
        sa.Column("posted_at", sa.Float, nullable=False),
        sa.Column("open", sa.Boolean, nullable=False),
    )
    op.create_index("ix_chat_messages_object", "chat_messages", ["host", "service"])
    op.create_table(
        "chat_reactions",
        sa.Column("channel", sa.String(64), primary_key=True),
        sa.Column("message_id", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("user_id", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("emoji", sa.String(64), primary_key=True),
        sa.Column("at", sa.Float, nullable=False),
        sa.Column("outcome", sa.Text, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("chat_reactions")
    op.drop_index("ix_chat_messages_object", table_name="chat_messages")
    op.drop_table("chat_messages")
    op.drop_table("notify_objects")
    op.drop_index("ix_notify_deliveries_object", table_name="notify_deliveries")
    op.drop_index("ix_notify_deliveries_status_due", table_name="notify_deliveries")
    op.drop_table("notify_deliveries")
    op.drop_table("notify_cursor")
    op.drop_table("notify_contacts")
    op.drop_table("notify_rules")
    op.drop_table("notify_channels")
