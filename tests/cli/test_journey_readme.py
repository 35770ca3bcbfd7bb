"""The README's "Journeys" section works as written: its journey, against a real site, with
the commands it shows (check, then run --create), browser step included."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from livesite import LiveSite, make_site
from lookout.cli.main import app
from lookout.cli.user_cmds import set_site_password
from lookout.sources.journeys.browser import CHROMIUM

pytestmark = pytest.mark.integration

README = Path(__file__).parent.parent.parent / "README.md"
PASSWORD = "journey horse battery"


def _section() -> str:
    text = README.read_text()
    start = text.index("\n## Journeys\n")
    end = text.index("\n## ", start + 5)
    return text[start:end]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveSite]:
    if not Path(CHROMIUM).exists():
        reason = f"{CHROMIUM} missing (scripts/test-deps.d/ui.sh installs it)"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    s = make_site(tmp_path_factory.mktemp("journey-readme") / "site")
    set_site_password(s.dir, "admin", PASSWORD)
    s.start()
    try:
        yield s
    finally:
        s.stop()


def test_the_readme_journey_runs_as_written(site: LiveSite, tmp_path: Path) -> None:
    section = _section()
    journey = re.search(r"```yaml\n(.*?)```", section, re.S)
    assert journey is not None
    path = tmp_path / "lookout-ui.yaml"
    path.write_text(journey.group(1))
    commands = re.search(r"```sh\n(.*?)```", section, re.S)
    assert commands is not None
    lines = [ln.split("  #")[0].strip() for ln in commands.group(1).splitlines()]
    assert lines[0].startswith("export LOOKOUT_URL=")
    env = {"LOOKOUT_URL": site.url, "LOOKOUT_TOKEN": site.token, "LOOKOUT_PASSWORD": PASSWORD}
    runner = CliRunner(env=env)
    for line in lines[1:]:
        args = line.split()
        assert args[0] == "lookout"
        args = [str(path) if a == "lookout-ui.yaml" else a for a in args[1:]]
        r = runner.invoke(app, args)
        assert r.exit_code == 0, f"{line}\n{r.output}"
    with site.client() as c:
        svc = c.get("/api/v1/hosts/lookout/services/Journey Lookout UI").json()
    assert svc["state_name"] == "OK", svc["long_output"]
    assert [m["name"] for m in svc["metrics"]] == [
        "step_1_log_in_page",
        "step_2_log_in",
        "step_3_api",
        "step_4_click_through",
        "total",
    ]
