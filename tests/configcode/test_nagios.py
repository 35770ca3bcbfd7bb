"""The Nagios object parser and its translation, on small inline configurations."""

from __future__ import annotations

from typing import Any

from lookout.configcode.nagios import (
    Imported,
    check_of,
    parse_main,
    parse_objects,
    translate,
)

TEMPLATES = """
define host {
    name                 generic-host
    check_interval       5      ; minutes
    retry_interval       1
    max_check_attempts   10
    check_command        check-host-alive
    register             0
}
define host {
    name                 linux
    use                  generic-host
    hostgroups           linux-servers
    _OS                  linux
    register             0
}
define host {
    name                 critical
    max_check_attempts   2
    _TEAM                ops
    register             0
}
define hostgroup {
    hostgroup_name       linux-servers
    alias                Linux Servers
}
define hostgroup {
    hostgroup_name       web
    alias                Web
    members              web1,web2
}
define service {
    name                 generic-service
    check_interval       10
    retry_interval       2
    max_check_attempts   3
    register             0
}
define command {
    command_name         check_ping
    command_line         $USER1$/check_ping -H $HOSTADDRESS$ -w $ARG1$ -c $ARG2$
}
"""


def define(kind: str, *lines: str) -> str:
    body = "".join(f"    {line}\n" for line in lines)
    return f"define {kind} {{\n{body}}}\n"


def imported(text: str) -> Imported:
    defs, notes = parse_objects(text, "test.cfg")
    return translate(defs, notes=notes)


def host(result: Imported, name: str) -> dict[str, Any]:
    return next(h for h in result.tree["hosts"] if h["name"] == name)


def services(result: Imported, name: str) -> dict[str, dict[str, Any]]:
    return {s["name"]: s for s in host(result, name).get("services", [])}


def test_templates_are_applied_and_not_registered() -> None:
    r = imported(TEMPLATES + "define host {\n use linux\n host_name web1\n address 10.0.0.1\n}\n")
    assert r.counts.hosts == 1
    h = host(r, "web1")
    assert h["check_interval"] == 300.0
    assert h["retry_interval"] == 60.0
    assert h["max_check_attempts"] == 10
    assert h["check"] == {"type": "nagios", "command": "check-host-alive", "args": []}
    assert h["labels"] == {"os": "linux"}
    assert h["groups"] == ["linux-servers", "web"]
    assert h["address"] == "10.0.0.1"


def test_several_templates_the_first_wins() -> None:
    text = TEMPLATES + "define host {\n use critical, linux\n host_name db1\n}\n"
    h = host(imported(text), "db1")
    assert h["max_check_attempts"] == 2  # from critical, listed first
    assert h["check_interval"] == 300.0  # only linux (via generic-host) has it
    assert h["labels"] == {"os": "linux", "team": "ops"}


def test_additive_inheritance() -> None:
    text = TEMPLATES + "define host {\n use linux\n host_name db1\n hostgroups +web\n}\n"
    assert host(imported(text), "db1")["groups"] == ["linux-servers", "web"]
    plain = TEMPLATES + "define host {\n use linux\n host_name db2\n hostgroups web\n}\n"
    assert host(imported(plain), "db2")["groups"] == ["web"]


def test_null_clears_an_inherited_value() -> None:
    text = TEMPLATES + "define host {\n use linux\n host_name x\n check_command null\n}\n"
    assert "check" not in host(imported(text), "x")


def test_services_on_host_groups_with_exclusions() -> None:
    text = (
        TEMPLATES
        + "define host {\n use linux\n host_name web1\n}\n"
        + "define host {\n use linux\n host_name web2\n}\n"
        + "define host {\n use linux\n host_name db1\n}\n"
        + define(
            "service",
            "use generic-service",
            "hostgroup_name linux-servers",
            "host_name !web2",
            "service_description PING",
            "check_command check_ping!100.0,20%!500.0,60%",
        )
        + define("service", "use generic-service", "host_name web1,db1", "service_description SSH")
        + define("service", "use generic-service", "host_name *, !db1", "service_description HTTP")
    )
    r = imported(text)
    assert set(services(r, "web1")) == {"PING", "SSH", "HTTP"}
    assert set(services(r, "web2")) == {"HTTP"}
    assert set(services(r, "db1")) == {"PING", "SSH"}
    assert r.counts.services == 6
    ping = services(r, "db1")["PING"]
    assert ping["check"] == {
        "type": "nagios",
        "command": "check_ping",
        "args": ["100.0,20%", "500.0,60%"],
    }
    assert ping["check_interval"] == 600.0
    assert ping["max_check_attempts"] == 3


def test_explicit_service_beats_host_group_duplicate() -> None:
    text = (
        TEMPLATES
        + "define host {\n use linux\n host_name web1\n}\n"
        + define(
            "service",
            "hostgroup_name linux-servers",
            "service_description X",
            "max_check_attempts 5",
        )
        + "define service {\n host_name web1\n service_description X\n max_check_attempts 7\n}\n"
    )
    r = imported(text)
    assert services(r, "web1")["X"]["max_check_attempts"] == 7
    assert r.counts.services == 1


def test_continuations_comments_and_escaped_semicolons() -> None:
    text = (
        "# a comment\n; another\n"
        "define command {\n"
        "    command_name   long   ; trailing comment\n"
        "    command_line   /bin/echo one \\\n"
        "two\\; three ; comment\n"
        "}\n"
    )
    r = imported(text)
    assert r.tree["commands"] == [{"name": "long", "command_line": "/bin/echo one two; three"}]


def test_check_command_arguments() -> None:
    assert check_of("check_x!a\\!b!!c") == {
        "type": "nagios",
        "command": "check_x",
        "args": ["a!b", "", "c"],
    }


def test_notes_name_file_and_line() -> None:
    text = (
        define("host", "use nope", "host_name a")
        + define("escalation", "x 1")
        + "define host {\n host_name b\n"
    )
    r = imported(text)
    messages = {n.message: n for n in r.notes}
    assert messages["host template 'nope' (use) is not defined"].line == 1
    assert messages["define escalation is not translated"].line == 5
    assert messages["define host is never closed with }"].line == 8
    assert all(n.file == "test.cfg" for n in r.notes)


def test_main_config() -> None:
    cfg = parse_main("cfg_file=a.cfg\n# cfg_file=b.cfg\ncfg_dir=/etc/x\ninterval_length=30\n")
    assert cfg.cfg_files == ["a.cfg"]
    assert cfg.cfg_dirs == ["/etc/x"]
    assert cfg.interval_length == 30


def test_groups_and_counts() -> None:
    text = (
        TEMPLATES
        + "define host {\n use linux\n host_name web1\n parents gw\n}\n"
        + "define host {\n host_name gw\n alias The gateway\n}\n"
        + "define servicegroup {\n servicegroup_name sg\n alias SG\n members web1,PING\n}\n"
        + "define service {\n host_name web1\n service_description PING\n}\n"
        + "define contactgroup {\n contactgroup_name admins\n members root\n}\n"
        + "define contact {\n contact_name root\n email root@localhost\n}\n"
        + "define timeperiod {\n timeperiod_name 24x7\n monday 00:00-24:00\n}\n"
    )
    r = imported(text)
    assert r.counts.as_dict() == {
        "hosts": 2,
        "services": 1,
        "commands": 1,
        "host groups": 2,
        "service groups": 1,
        "contacts": 1,
        "contact groups": 1,
        "time periods": 1,
    }
    assert host(r, "web1")["parents"] == ["gw"]
    assert host(r, "gw")["labels"] == {"alias": "The gateway"}
    assert services(r, "web1")["PING"]["labels"] == {"service_groups": "sg"}
    assert {g["name"] for g in r.tree["host_groups"]} == {"linux-servers", "web"}


def test_malformed_files_get_notes_and_the_rest_is_read() -> None:
    text = (
        "host_name stray\n"
        "define host {\n    host_name a\n"  # never closed: the next define starts anew
        + define("host", "host_name b")
        + "define host {\n    host_name c\n"  # never closed at the end of the file
    )
    r = imported(text)
    lines = {(n.line, n.message, n.count) for n in r.notes}
    assert (1, "not inside a definition: 'host_name stray'", 1) in lines
    assert (2, "define host is never closed with }", 2) in lines  # lines 2 and 7: grouped
    assert [h["name"] for h in r.tree["hosts"]] == ["b"]


def test_contacts_groups_and_time_periods_each_get_a_note_with_file_and_line() -> None:
    text = (
        "define contact {\n contact_name root\n email root@example.org\n pager 555-0100\n"
        " contactgroups admins\n}\n"
        + "define contactgroup {\n contactgroup_name admins\n alias Admins\n}\n"
        + "define timeperiod {\n timeperiod_name workhours\n monday 09:00-17:00\n}\n"
        + "define timeperiod {\n timeperiod_name 24x7\n monday 00:00-24:00\n}\n"
    )
    r = imported(text)
    notes = {n.message.split(" not translated")[0]: n for n in r.notes}
    root = notes["contact root"]
    assert root.line == 1
    assert "lookout user add root --email root@example.org" in root.message
    assert "contacts.root.groups: [admins]" in root.message
    assert "pager 555-0100" in root.message
    assert notes["contact group admins"].line == 7
    assert "(Admins)" in notes["contact group admins"].message
    assert (notes["time period workhours"].line, notes["time period 24x7"].line) == (11, 15)
    assert (r.counts.contacts, r.counts.contact_groups, r.counts.time_periods) == (1, 1, 2)
