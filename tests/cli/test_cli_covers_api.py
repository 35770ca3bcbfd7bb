"""Every action of the REST API has a CLI command: the site's OpenAPI document is walked and
each operation must map to an existing ``lookout`` command (or be named here as not one)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import httpx
import pytest
import typer.main
from typer.core import TyperGroup

from lookout.cli.main import app

if TYPE_CHECKING:
    from conftest import RunningSite

pytestmark = pytest.mark.integration

CLI_FOR = {
    "POST /hosts": "host add",
    "GET /hosts": "host list",
    "GET /hosts/{host}": "host show",
    "PATCH /hosts/{host}": "host edit",
    "DELETE /hosts/{host}": "host remove",
    "POST /hosts/{host}/services": "service add",
    "GET /hosts/{host}/services": "host show",
    "GET /hosts/{host}/services/{service}": "service show",
    "PATCH /hosts/{host}/services/{service}": "service edit",
    "DELETE /hosts/{host}/services/{service}": "service remove",
    "GET /services": "service list",
    "POST /actions/acknowledge": "ack",
    "POST /actions/remove-acknowledgement": "unack",
    "POST /actions/schedule-downtime": "downtime add",
    "POST /actions/remove-downtime": "downtime remove",
    "POST /actions/comment": "comment",
    "POST /actions/recheck": "recheck",
    "GET /downtimes": "downtime list",
    "GET /acknowledgements": "acknowledgements",
    "GET /comments": "comments",
    "GET /events": "events",
    "GET /metrics": "metrics",
    "GET /tokens": "token list",
    "POST /tokens": "token create",
    "DELETE /tokens/{token_id}": "token revoke",
    "GET /users": "user list",
    "POST /users": "user add",
    "DELETE /users/{name}": "user remove",
    "GET /commands": "command list",
    "POST /commands": "command add",
    "PUT /commands/{name}": "command add",
    "GET /commands/{name}": "command show",
    "DELETE /commands/{name}": "command remove",
    "GET /notifications/rules": "notifications rules",
    "POST /notifications/rules": "notifications apply",
    "DELETE /notifications/rules/{name}": "notifications remove-rule",
    "GET /notifications/channels": "notifications channels",
    "POST /notifications/channels": "notifications apply",
    "DELETE /notifications/channels/{name}": "notifications remove-channel",
    "GET /notifications/contacts": "notifications contacts",
    "POST /notifications/contacts": "notifications apply",
    "GET /notifications/deliveries": "notifications list",
    "POST /notifications/test": "notifications test",
    "GET /kube/clusters": "kube list",
    "POST /kube/clusters": "kube connect",
    "GET /kube/clusters/{name}": "kube status",
    "PATCH /kube/clusters/{name}": "kube set",
    "DELETE /kube/clusters/{name}": "kube remove",
    "GET /config": "config export",
    "POST /config/apply": "config apply",
    "POST /hosts/{host}/agent-token": "host agent-token",
    "POST /hosts/{host}/agent-deregister": "host deregister",
    "GET /agents": "agent list",
    "POST /results": "submit",
}
NOT_CLI = {"POST /notifications/zulip/{channel}": "Zulip's outgoing-webhook bots call it"}


def cli_commands() -> set[str]:
    out: set[str] = set()
    todo = [((), typer.main.get_command(app))]
    while todo:
        path, command = todo.pop()
        out.add(" ".join(path))
        if isinstance(command, TyperGroup):
            todo += [((*path, n), c) for n, c in command.commands.items() if not c.hidden]
    return out


def test_every_api_operation_has_a_cli_command(site: RunningSite) -> None:
    doc = httpx.get(f"{site.url}/api/v1/openapi.json", timeout=10).json()
    operations = {
        f"{method.upper()} {path.removeprefix('/api/v1')}"
        for path, item in doc["paths"].items()
        for method in item
    }
    assert operations - CLI_FOR.keys() - NOT_CLI.keys() == set(), "operations without a CLI"
    assert CLI_FOR.keys() - operations == set(), "CLI_FOR names operations the API lacks"
    assert set(CLI_FOR.values()) - cli_commands() == set(), "commands that do not exist"
