"""``lookout init`` prints a web log-in; ``lookout user passwd`` sets one on the site directory."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from lookout import auth
from lookout.cli.main import app
from lookout.config import load_settings
from lookout.storage import accounts
from lookout.storage.database import open_database


def _hash(site: Path, user: str) -> str:
    db = open_database(load_settings(site).database(site))
    try:
        value: str = accounts.get_user(db, user).password_hash
        return value
    finally:
        db.dispose()


def test_init_prints_an_admin_password_that_works(tmp_path: Path) -> None:
    site = tmp_path / "site"
    r = CliRunner().invoke(app, ["init", str(site), "--json"])
    assert r.exit_code == 0, r.output
    created = json.loads(r.output)
    assert auth.verify_password(created["password"], _hash(site, "admin"))
    human = CliRunner().invoke(app, ["init", str(tmp_path / "other")])
    assert "Web log-in:  admin / " in human.output


def test_user_passwd_from_stdin_generated_and_refused(tmp_path: Path) -> None:
    site = tmp_path / "site"
    assert CliRunner().invoke(app, ["init", str(site)]).exit_code == 0
    r = CliRunner().invoke(
        app,
        ["user", "passwd", "admin", "--site", str(site), "--password-stdin"],
        input="a new secret\n",
    )
    assert r.exit_code == 0, r.output
    assert auth.verify_password("a new secret", _hash(site, "admin"))
    gen = CliRunner().invoke(app, ["user", "passwd", "admin", "--site", str(site)], input="")
    assert gen.exit_code == 0, gen.output
    password = gen.output.split("Password:")[1].split()[0]
    assert auth.verify_password(password, _hash(site, "admin"))
    short = CliRunner().invoke(
        app, ["user", "passwd", "admin", "--site", str(site), "--password-stdin"], input="short\n"
    )
    assert short.exit_code == 2
    assert "at least 8 characters" in short.output
    nobody = CliRunner().invoke(
        app,
        ["user", "passwd", "nobody", "--site", str(site), "--password-stdin"],
        input="long enough\n",
    )
    assert nobody.exit_code == 2
    assert "not found" in nobody.output
