"""``newest_script`` lets a site's start skip Alembic for a schema at the head: the last
migration script by name must be Alembic's head, and a schema there must not import Alembic
(one more script, as another version adds, goes through Alembic:
``tests/manager/test_update_versions.py``)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from lookout.storage.database import head_revision, migrate, newest_script, open_database


def test_the_last_script_by_name_is_the_head() -> None:
    assert head_revision() == newest_script(), "name migration scripts NNNN_what.py, in order"


def test_a_schema_at_the_head_is_checked_without_alembic(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'site.db'}"
    db = open_database(url)
    migrate(db)
    db.dispose()
    code = (
        "import sys\n"
        "from lookout.storage.database import migrate, open_database\n"
        f"db = open_database({url!r})\n"
        "migrate(db)\n"
        "print('alembic' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
