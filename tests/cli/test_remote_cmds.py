"""``lookout remote …`` and ``lookout central …`` against real sites (issue 12): the CLI test
site is the central one, a second ``lookout serve`` the remote."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from livesite import LiveSite, make_site

if TYPE_CHECKING:
    from conftest import Cli

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def remote(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveSite, str]]:
    site = make_site(tmp_path_factory.mktemp("cli-remote") / "dc7", site_name="dc7")
    site.start()
    try:
        with site.client() as c:
            body = {
                "hosts": [{"name": "dc7-web"}],
                "services": [{"host": "dc7-web", "name": "tls"}],
            }
            assert c.post("/api/v1/objects", json=body).status_code == 201
            result = {"host": "dc7-web", "service": "tls", "state": 1, "summary": "expires soon"}
            assert c.post("/api/v1/results", json={"results": [result]}).status_code == 200
            assert c.post("/api/v1/users", json={"name": "central-x", "role": "operator"})
            token = c.post(
                "/api/v1/tokens", json={"name": "x", "user": "central-x", "role": "operator"}
            ).json()["token"]
        yield site, token
    finally:
        site.stop()


def _wait(predicate: Any, timeout: float = 15.0) -> Any:
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"not within {timeout} s")


def test_remote_add_list_central_problems_ack_remove(
    cli: Cli, remote: tuple[LiveSite, str], tmp_path: Path
) -> None:
    site, token = remote
    refused = cli("remote", "add", "dc7", site.url, "--remote-token", token)
    assert refused.exit_code != 0
    assert "allow_http" in refused.output
    cli.ok("remote", "add", "dc7", site.url, "--remote-token", token, "--allow-http")
    try:
        listed = cli.ok("remote", "list").stdout
        assert "dc7" in listed
        assert token not in listed
        assert token not in cli.ok("remote", "list", "--json").stdout
        _wait(lambda: cli.json("central", "problems", "--only", "dc7")["total"] == 1)
        table = cli.ok("central", "problems").stdout
        assert "dc7-web" in table
        assert "expires soon" in table
        cli.ok("central", "ack", "dc7", "dc7-web", "tls", "-c", "renewing")
        with site.client() as c:
            acks = c.get("/api/v1/acknowledgements").json()["items"]
        assert [a["author"].endswith(" via central-x") for a in acks] == [True]
        hosts = cli.json("central", "hosts", "--only", "dc7")
        assert [i["host"] for i in hosts["items"]] == ["dc7-web"]
        refused = cli("central", "recheck", "dc7", "no-such-host")
        assert refused.exit_code != 0
        assert "refused" in refused.output
    finally:
        cli.ok("remote", "remove", "dc7")
    assert "dc7" not in cli.ok("remote", "list").stdout
