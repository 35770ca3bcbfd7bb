"""``lookout sites versions``: a version is registered only when its own ``bin/lookout version``
says it is that version; the imported version is always there; one in use by a site (or by an
unfinished update) is not removed."""

from __future__ import annotations

import json
import os
import stat
import time
from pathlib import Path

import pytest
from otherversion import EXTRA_REVISION, make_version

from lookout import __version__
from lookout.errors import ConfigError, Conflict, NotFound
from lookout.manager.root import Record, Root, init_root
from lookout.manager.versions import Versions

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def v9(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_version(tmp_path_factory.mktemp("v9") / "env", "9.0.0", extra_migration=True)


def test_a_version_is_checked_before_it_is_registered(root: Root, v9: Path, tmp_path: Path) -> None:
    versions = Versions(root)
    assert versions.names() == []
    here = versions.describe(__version__)
    assert here.current
    assert EXTRA_REVISION not in here.revisions
    with pytest.raises(ConfigError, match="no executable bin/lookout"):
        versions.add("9.0.0", tmp_path)
    with pytest.raises(ConfigError, match=r"is Lookout 9\.0\.0, not 8\.0\.0"):
        versions.add("8.0.0", v9)
    with pytest.raises(ConfigError, match="expected 1-64"):
        versions.add("../x", v9)
    with pytest.raises(Conflict, match="this installation's own version"):
        versions.add(__version__, v9)
    with pytest.raises(NotFound, match="not installed"):
        versions.describe("9.0.0")
    broken = tmp_path / "broken"
    (broken / "bin").mkdir(parents=True)
    (broken / "bin" / "lookout").write_text("#!/bin/sh\necho 'no such command' >&2\nexit 2\n")
    (broken / "bin" / "lookout").chmod(0o755)
    with pytest.raises(ConfigError, match=r"version --json failed .*no such command"):
        versions.add("7.0.0", broken)

    found = versions.add("9.0.0", v9)
    assert (found.version, found.head, found.current) == ("9.0.0", EXTRA_REVISION, False)
    assert versions.names() == ["9.0.0"]
    assert (root.path / "versions" / "9.0.0").resolve() == v9.resolve()
    assert versions.describe("9.0.0").revisions[:-1] == here.revisions  # one migration more
    with pytest.raises(Conflict, match="registered already"):
        versions.add("9.0.0", v9)


def test_a_version_in_use_is_not_removed(root: Root, v9: Path) -> None:
    versions = Versions(root)
    versions.add("9.0.0", v9)
    rec = Record("alpha", 1, 2, "9.0.0", time.time())
    root.save(rec)  # a site that runs it
    with pytest.raises(Conflict, match="in use by alpha"):
        versions.remove("9.0.0")
    rec.version = __version__
    root.save(rec)
    update = root.path / "state" / "alpha.update"
    update.write_text(json.dumps({"step": "start", "from": __version__, "to": "9.0.0"}))
    with pytest.raises(Conflict, match="in use by alpha"):  # an unfinished update goes to it
        versions.remove("9.0.0")
    update.unlink()
    versions.remove("9.0.0")
    assert versions.names() == []
    assert (v9 / "bin" / "lookout").exists()  # the installation itself stays
    with pytest.raises(NotFound):
        versions.remove("9.0.0")
    with pytest.raises(Conflict):
        versions.remove(__version__)


@pytest.mark.skipif(os.geteuid() != 0, reason="sites have users of their own only under root")
def test_a_version_the_sites_users_cannot_run_is_refused(tmp_path: Path, v9: Path) -> None:
    root = init_root(tmp_path / "root", first_port=31000, listen="", agent_listen="")
    assert root.settings.site_users  # and this process is root: sites get users of their own
    closed = v9.parent.parent  # pytest's directory of root's temporary files: 0700
    assert not closed.stat().st_mode & stat.S_IXOTH
    with pytest.raises(ConfigError, match=r"the sites' own users cannot run .* does not let"):
        Versions(root).add("9.0.0", v9)
    assert Versions(root).names() == []
