"""Another installed Lookout version for the tests, built cheaply but for real: a virtual
environment of its own (``python -m venv``, so its processes report its own ``sys.prefix``)
with a copy of the code under test whose ``__version__`` is changed, optionally one more
Alembic migration (a real table), its dependencies taken from the shared environment by a
``.pth`` file, and a ``bin/lookout`` as a package's console script would be."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import lookout
from lookout.storage.database import known_revisions

EXTRA_REVISION = "9001"
EXTRA_TABLE = "side_by_side_check"
MIGRATION = '''"""A table only the test's newer version has."""

import sqlalchemy as sa
from alembic import op

revision = "{revision}"
down_revision = "{down}"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table("{table}", sa.Column("id", sa.Integer, primary_key=True))


def downgrade() -> None:
    op.drop_table("{table}")
'''


def make_version(dest: Path, version: str, *, extra_migration: bool) -> Path:
    """A directory with ``bin/lookout`` of Lookout ``version`` (the code under test)."""
    base = getattr(sys, "_base_executable", sys.executable)
    subprocess.run([base, "-m", "venv", "--without-pip", str(dest)], check=True, timeout=120)
    code = dest / "src" / "lookout"
    shutil.copytree(
        Path(lookout.__file__).parent, code, ignore=shutil.ignore_patterns("__pycache__")
    )
    init = code / "__init__.py"
    text = re.sub(r'__version__ = "[^"]*"', f'__version__ = "{version}"', init.read_text())
    init.write_text(text)
    if extra_migration:
        migration = code / "storage" / "migrations" / "versions" / f"{EXTRA_REVISION}_check.py"
        migration.write_text(
            MIGRATION.format(revision=EXTRA_REVISION, down=known_revisions()[-1], table=EXTRA_TABLE)
        )
    shared = sysconfig.get_paths()["purelib"]  # fastapi & co., from the tests' environment
    ask = "import sysconfig; print(sysconfig.get_paths()['purelib'])"
    site = Path(
        subprocess.run(
            [str(dest / "bin" / "python"), "-c", ask],
            check=True, capture_output=True, text=True, timeout=60,
        ).stdout.strip()
    )  # fmt: skip
    (site / "00-lookout.pth").write_text(
        f"{dest / 'src'}\nimport site; site.addsitedir({shared!r})\n"
    )
    lookout_bin = dest / "bin" / "lookout"
    lookout_bin.write_text(
        f"#!{dest / 'bin' / 'python'}\n"
        "import sys\n"
        "from lookout.cli.main import app\n"
        "sys.exit(app())\n"
    )
    lookout_bin.chmod(0o755)
    return dest
