"""notifications: rules, channels, outbox, deliveries, chat message map (issue #5)

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 18:00:00.000000

Reserved in the migration chain so that the features of issues #3-#6 can be built in parallel;
it creates nothing until issue #5 fills it in.
"""

from __future__ import annotations

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
