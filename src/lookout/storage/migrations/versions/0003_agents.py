"""agents: registration tokens, agent identities, certificates (issue #3)

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 18:00:00.000000

Reserved in the migration chain so that the features of issues #3-#6 can be built in parallel;
it creates nothing until issue #3 fills it in.
"""

from __future__ import annotations

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
