"""Every action of the REST API has a CLI command: the site's OpenAPI document is walked and
each operation must map to an existing ``lookout`` command (or be named here as not one)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import httpx
import pytest
import typer.main
from typer._click.core import Command
from typer.core import TyperGroup

from lookout.cli.main import app

if TYPE_CHECKING:
    from conftest import RunningSite

pytestmark = pytest.mark.integration

CLI_FOR = {
    "POST /hosts": "host add",
    "POST /objects": "add-objects",
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
    "POST /actions/remove-comment": "uncomment",
    "POST /actions/recheck": "recheck",
    "GET /downtimes": "downtime list",
    "GET /acknowledgements": "acknowledgements",
    "GET /reports/availability": "report availability",
    "GET /pools": "pools",
    "GET /site": "status",
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
    "GET /check-rules": "check-rule list",
    "POST /check-rules": "check-rule add",
    "PUT /check-rules/{name}": "check-rule add",
    "GET /check-rules/{name}": "check-rule show",
    "DELETE /check-rules/{name}": "check-rule remove",
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
    "GET /remotes": "remote list",
    "POST /remotes": "remote add",
    "DELETE /remotes/{name}": "remote remove",
    "GET /central/problems": "central problems",
    "GET /central/services": "central services",
    "GET /central/hosts": "central hosts",
    "POST /central/actions/acknowledge": "central ack",
    "POST /central/actions/schedule-downtime": "central downtime",
    "POST /central/actions/comment": "central comment",
    "POST /central/actions/recheck": "central recheck",
    "POST /checkpoint": "checkpoint",
    "GET /audit": "audit",
    "GET /audit.jsonl": "audit export",
    "GET /audit/verify": "audit verify",
}
WITHOUT_JSON = {
    "POST /notifications/rules": "notifications apply posts many items from a file",
    "POST /notifications/channels": "notifications apply",
    "POST /notifications/contacts": "notifications apply",
    "GET /config": "config export writes files",
    "GET /audit.jsonl": "audit export writes JSON lines to a file",
    "POST /kube/clusters": "kube connect prints its checks (kube_cmds.py: not changed here)",
    "DELETE /kube/clusters/{name}": "kube remove (kube_cmds.py: not changed here)",
}
NOT_CLI = {
    "POST /notifications/zulip/{channel}": "Zulip's outgoing-webhook bots call it",
    "POST /integrations/alertmanager": "Alertmanager's webhook_configs call it",
    "GET /changes": "central sites call it (lookout remote add)",
}


def cli_commands() -> dict[str, Command]:
    out: dict[str, Command] = {}
    todo = [((), typer.main.get_command(app))]
    while todo:
        path, command = todo.pop()
        out[" ".join(path)] = command
        if isinstance(command, TyperGroup):
            todo += [((*path, n), c) for n, c in command.commands.items() if not c.hidden]
    return out


def _operations(site: RunningSite) -> dict[str, dict[str, Any]]:
    doc = httpx.get(f"{site.url}/api/v1/openapi.json", timeout=10).json()
    return {
        f"{method.upper()} {path.removeprefix('/api/v1')}": operation
        for path, item in doc["paths"].items()
        for method, operation in item.items()
    }


def test_every_api_operation_has_a_cli_command(site: RunningSite) -> None:
    operations = _operations(site).keys()
    assert operations - CLI_FOR.keys() - NOT_CLI.keys() == set(), "operations without a CLI"
    assert CLI_FOR.keys() - operations == set(), "CLI_FOR names operations the API lacks"
    assert set(CLI_FOR.values()) - cli_commands().keys() == set(), "commands that do not exist"


def test_commands_of_operations_that_answer_a_body_print_it_with_json(site: RunningSite) -> None:
    commands = cli_commands()
    with_json = {name for name, c in commands.items() if any("--json" in p.opts for p in c.params)}
    lacking = sorted(
        f"{CLI_FOR[op]} ({op})"
        for op, operation in _operations(site).items()
        if op in CLI_FOR
        and "204" not in operation.get("responses", {})
        and CLI_FOR[op] not in with_json
        and op not in WITHOUT_JSON
    )
    assert lacking == [], lacking
