"""web UI: sessions and user preferences (issue #6)

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23 18:00:00.000000

Reserved in the migration chain so that the features of issues #3-#6 can be built in parallel;
it creates nothing until issue #6 fills it in.
"""

from __future__ import annotations

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
