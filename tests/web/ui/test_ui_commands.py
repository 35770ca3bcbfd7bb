"""The setup page's Commands card: add, refuse a bad line naming the field, remove."""

from __future__ import annotations

import html

from uiweb import Browser
from webapi import Api, unique


def test_add_list_and_remove_a_command(ui_admin: Browser) -> None:
    name = unique("check")
    line = "$USER1$/check_tcp -H $HOSTADDRESS$ -p $ARG1$"
    assert ui_admin.post("/setup/command", {"name": name, "command_line": line}).status_code == 303
    page = html.unescape(ui_admin.get("/setup").text)
    assert f"command {name} added" in page
    assert line in page
    assert ui_admin.post("/setup/command/delete", {"name": name}).status_code == 303
    page = html.unescape(ui_admin.get("/setup").text)
    assert f"command {name} removed" in page


def test_a_bad_line_is_refused_naming_the_field(ui_admin: Browser) -> None:
    form = {"name": unique("check"), "command_line": "check_tcp -p 22"}
    assert ui_admin.post("/setup/command", form).status_code == 303
    page = html.unescape(ui_admin.get("/setup").text)
    assert "command_line: Value error, command line program 'check_tcp' must be" in page


def test_a_command_in_use_is_not_removed(ui_admin: Browser, api: Api) -> None:
    name = unique("check")
    ui_admin.post("/setup/command", {"name": name, "command_line": "/bin/echo $ARG1$"})
    host = api.host()
    api.service(host, "Echo", check={"type": "nagios", "command": name})
    ui_admin.post("/setup/command/delete", {"name": name})
    page = html.unescape(ui_admin.get("/setup").text)
    assert f"command {name!r} is used by {host}/Echo" in page
