"""``lookout init`` that cannot set up its database says so in one line, exits 2 and leaves
nothing behind (issue 16); ``--debug`` adds the traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from lookout.cli.main import app

NOBODY = "postgresql+psycopg://nobody:hunter2@127.0.0.1:1/x"
"""Port 1: refused at once."""


def _init(*args: str) -> tuple[int, str]:
    result = CliRunner(env={"LOOKOUT_DATABASE_URL": None}).invoke(app, list(args))
    return result.exit_code, result.stderr


def test_unreachable_database_is_one_line_and_leaves_no_directory(tmp_path: Path) -> None:
    site = tmp_path / "new" / "site"
    code, err = _init("init", str(site), "--database-url", NOBODY)
    assert code == 2
    assert err.count("\n") == 1, err
    assert err.startswith("error: cannot set up the database")
    assert "postgresql+psycopg://nobody:***@127.0.0.1:1/x" in err
    assert "Connection refused" in err
    assert "hunter2" not in err
    assert "Traceback" not in err
    assert not (tmp_path / "new").exists()


def test_debug_prints_the_traceback_too(tmp_path: Path) -> None:
    code, err = _init("--debug", "init", str(tmp_path / "site"), "--database-url", NOBODY)
    assert code == 2
    assert err.startswith("Traceback")
    assert err.splitlines()[-1].startswith("error: cannot set up the database")
    assert not (tmp_path / "site").exists()


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("no url at all", "Could not parse SQLAlchemy URL"),
        ("nosuchdb://u:pw@h/x", "Can't load plugin"),
        ("sqlite:////nonexistent/dir/x.db", "unable to open database file"),
    ],
)
def test_other_database_errors_are_one_line_too(tmp_path: Path, url: str, says: str) -> None:
    code, err = _init("init", str(tmp_path / "site"), "--database-url", url)
    assert (code, err.count("\n")) == (2, 1), err
    assert says in err
    assert ":pw@" not in err
    assert list(tmp_path.iterdir()) == []


def test_existing_directory_keeps_what_it_had(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    code, _ = _init("init", str(tmp_path), "--database-url", NOBODY)
    assert code == 2
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]


def test_failure_after_the_database_removes_only_what_init_made(tmp_path: Path) -> None:
    """The CLI credentials cannot be written (a directory is in the way): the database, the
    settings and the CA that init had made go again; the user's things stay."""
    (tmp_path / "cli.json").mkdir()
    (tmp_path / "notes.txt").write_text("mine")
    code, err = _init("init", str(tmp_path))
    assert code == 2
    assert "cannot write the site" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cli.json", "notes.txt"]
    code, _ = _init("init", str(tmp_path / "elsewhere"), "--json")
    assert code == 0


def test_serve_with_an_unreachable_database_is_one_line(tmp_path: Path) -> None:
    """A site whose database went away (or whose database_url was edited wrongly)."""
    site = tmp_path / "site"
    code, err = _init("init", str(site))
    assert code == 0, err
    settings = site / "lookout.toml"
    settings.write_text(
        settings.read_text().replace('database_url = ""', f'database_url = "{NOBODY}"')
    )
    result = CliRunner(env={"LOOKOUT_DATABASE_URL": None}).invoke(app, ["serve", str(site)])
    assert result.exit_code == 2, result.stderr
    assert result.stderr.startswith("error: cannot reach the database"), result.stderr
    assert "hunter2" not in result.stderr
    assert "Traceback" not in result.stderr
