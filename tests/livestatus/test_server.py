"""GET over the real socket of a running site: Nagios column conventions, output formats,
framing, keep-alive, AuthUser, Localtime, and the error codes of bad requests."""

from __future__ import annotations

import ast
import json
import socket
import stat
import time

import pytest
from lsclient import query, read_fixed16, rows, send
from lssite import Site

pytestmark = pytest.mark.integration

SVC_COLS = (
    "host_name description state state_type has_been_checked acknowledged "
    "scheduled_downtime_depth plugin_output long_plugin_output perf_data groups contacts "
    "host_state host_contacts active_checks_enabled last_check"
)


def by_key(site: Site, lql: str, width: int = 2) -> dict[tuple[str, ...], list[object]]:
    return {tuple(r[:width]): r[width:] for r in rows(site.socket, lql)}


def test_socket_is_mode_0660(site: Site) -> None:
    assert stat.S_IMODE(site.socket.stat().st_mode) == 0o660
    assert stat.S_ISSOCK(site.socket.stat().st_mode)


def test_services_follow_the_nagios_conventions(site: Site) -> None:
    got = by_key(site, f"GET services\nColumns: {SVC_COLS}")
    now = time.time()
    disk = got[("web01", "Disk /")]
    assert disk[:8] == [2, 1, 1, 0, 0, "97% full", "line two\nline three", ""]
    assert got[("web01", "HTTP")][7] == "time=0.12s;1;2;0"
    assert got[("web01", "HTTP")][8] == ["frontend"]
    assert got[("db01", "PostgreSQL")][0] == 3
    assert got[("db01", "PostgreSQL")][8] == ["frontend", "data"]
    # contacts come from the object's contact groups; the host's are host_contacts
    assert disk[9] == []
    assert disk[11] == ["admin"]
    assert got[("db01", "Disk /")][10] == 1  # host_state: db01 is DOWN
    assert disk[12] == 0  # passive
    assert now - 300 < disk[13] <= now + 1
    pending = got[("idle01", "Pending")]
    assert pending[:3] == [0, 1, 0]
    assert pending[-1] == 0


def test_hosts_follow_the_nagios_conventions(site: Site) -> None:
    cols = (
        "name alias address state has_been_checked groups parents childs contacts "
        "contact_groups num_services num_services_ok num_services_warn num_services_crit "
        "num_services_unknown num_services_pending worst_service_state services"
    )
    got = by_key(site, f"GET hosts\nColumns: {cols}", width=1)
    assert got[("web01",)] == [
        "Web server", "10.0.0.5", 0, 1, ["web", "prod"], [], ["db01"], ["admin"], ["ops"],
        3, 1, 1, 1, 0, 0, 2, ["HTTP", "Disk /", "Load"],
    ]  # fmt: skip
    assert got[("db01",)][:8] == ["db01", "db01", 1, 1, ["prod"], ["web01"], [], []]
    assert got[("db01",)][15] == 3  # UNKNOWN is worse than WARN, not than CRIT
    # a host without a host check is UP, as in Nagios; its unchecked service is pending
    assert got[("idle01",)][2:4] == [0, 1]
    assert got[("idle01",)][14] == 1


def test_groups_contacts_and_small_tables(site: Site) -> None:
    assert rows(site.socket, "GET hostgroups\nColumns: name members num_hosts_down") == [
        ["prod", ["web01", "db01"], 1],
        ["web", ["web01"], 0],
    ]
    assert rows(site.socket, "GET servicegroups\nColumns: name members worst_service_state") == [
        ["data", [["db01", "PostgreSQL"]], 3],
        ["frontend", [["web01", "HTTP"], ["db01", "PostgreSQL"]], 3],
    ]
    assert ["admin", ["ops"]] in rows(site.socket, "GET contacts\nColumns: name groups")
    assert rows(site.socket, "GET contactgroups\nColumns: name members") == [["ops", ["admin"]]]
    assert rows(site.socket, "GET timeperiods\nColumns: name in") == [["24x7", 1]]
    assert rows(site.socket, "GET status\nColumns: num_hosts num_services") == [[3, 6]]
    assert rows(site.socket, "GET commands\nColumns: name line") == []
    types = rows(site.socket, "GET columns\nFilter: table = hosts\nColumns: name type")
    assert ["last_check", "time"] in types
    assert ["groups", "list"] in types
    members = rows(site.socket, "GET servicesbygroup\nColumns: servicegroup_name description")
    assert ["data", "PostgreSQL"] in members


def test_stats_counts_and_groups(site: Site) -> None:
    lql = "GET services\n" + "".join(f"Stats: state = {s}\n" for s in range(4))
    assert rows(site.socket, lql) == [[3, 1, 1, 1]]
    grouped = rows(site.socket, "GET services\nColumns: host_name\nStats: state != 0")
    assert grouped == [["db01", 1], ["idle01", 0], ["web01", 2]]
    lql = "GET services\nStats: state > 0\nStats: host_state = 0\nStatsAnd: 2\nStats: sum state"
    assert rows(site.socket, lql) == [[2, 6]]


def test_filters_and_limit(site: Site) -> None:
    lql = "GET services\nColumns: description\nFilter: host_groups >= web\nFilter: state > 0\n"
    assert rows(site.socket, lql) == [["Disk /"], ["Load"]]
    lql = "GET services\nColumns: description\nFilter: description ~~ ^disk\nLimit: 1"
    assert rows(site.socket, lql) == [["Disk /"]]


def test_output_formats_and_headers(site: Site) -> None:
    base = "GET hosts\nColumns: name groups\nFilter: name = web01\n"
    assert query(site.socket, base) == (200, b"web01;web,prod\n")
    seps = "Separators: 10 124 59 43\nColumnHeaders: on\n"
    assert query(site.socket, base + seps) == (200, b"name|groups\nweb01|web;prod\n")
    assert json.loads(query(site.socket, base + "OutputFormat: json")[1]) == [
        ["web01", ["web", "prod"]]
    ]
    python = query(site.socket, base + "OutputFormat: python\nColumnHeaders: on")[1]
    assert ast.literal_eval(python.decode()) == [["name", "groups"], ["web01", ["web", "prod"]]]
    wrapped = json.loads(query(site.socket, base + "OutputFormat: wrapped_json")[1])
    assert wrapped == {"data": [["web01", ["web", "prod"]]], "total_count": 1}
    # no Columns: every column, with a header row
    everything = rows(site.socket, "GET hosts\nFilter: name = web01")
    assert "name" in everything[0]
    assert len(everything) == 2


def test_fixed16_header_is_exact(site: Site) -> None:
    raw = send(site.socket, b"GET hosts\nColumns: name\nLimit: 1\nResponseHeader: fixed16\n\n")
    assert raw == b"200           6\nweb01\n"


def test_without_fixed16_the_answer_ends_at_close(site: Site) -> None:
    assert send(site.socket, b"GET hosts\nColumns: name\n\n", half_close=False) == (
        b"web01\ndb01\nidle01\n"
    )
    # a request ended by closing the write side (python-mk-livestatus)
    assert send(site.socket, b"GET hosts\nColumns: name\nLimit: 1") == b"web01\n"


def test_keepalive_serves_many_requests_on_one_connection(site: Site) -> None:
    with socket.socket(socket.AF_UNIX) as s:
        s.settimeout(5)
        s.connect(str(site.socket))
        for name in ("web01", "db01", "nosuch", "idle01"):
            lql = f"GET hosts\nColumns: name\nFilter: name = {name}\n"
            s.sendall((lql + "KeepAlive: on\nResponseHeader: fixed16\n\n").encode())
            code, body = read_fixed16(s)
            assert code == 200
            assert body == (f"{name}\n".encode() if name != "nosuch" else b"")


def test_auth_user_sees_the_objects_of_their_contact_groups(site: Site) -> None:
    hosts = rows(site.socket, "GET hosts\nColumns: name\nAuthUser: admin")
    assert hosts == [["web01"]]
    services = rows(site.socket, "GET services\nColumns: host_name\nAuthUser: admin")
    assert {r[0] for r in services} == {"web01"}
    assert rows(site.socket, "GET hosts\nColumns: name\nAuthUser: nobody") == []


def test_localtime_shifts_times_to_the_client_clock(site: Site) -> None:
    lql = "GET hosts\nColumns: last_check\nFilter: name = web01\n"
    ours = rows(site.socket, lql)[0][0]
    theirs = rows(site.socket, lql + f"Localtime: {int(time.time()) + 3600}")[0][0]
    assert theirs - ours == 3600


def test_log_table_reads_the_event_log(site: Site) -> None:
    lql = (
        f"GET log\nColumns: class type state state_type host_name service_description "
        f"plugin_output message\nFilter: time >= {int(time.time()) - 600}\n"
        "Filter: host_name = web01\nFilter: service_description = Disk /"
    )
    got = rows(site.socket, lql)
    assert [1, "SERVICE ALERT", 2, "HARD", "web01", "Disk /", "97% full",
            "SERVICE ALERT: web01;Disk /;CRITICAL;HARD;1;97% full"] in got  # fmt: skip


@pytest.mark.parametrize(
    ("lql", "code", "message"),
    [
        ("GET nosuch", 404, "Invalid GET request, no such table 'nosuch'"),
        ("GET hosts\nColumns: name nope", 400, "Columns: Table 'hosts' has no column 'nope'"),
        ("GET hosts\nFilter: nope = 1", 400, "Filter: Table 'hosts' has no column 'nope'"),
        ("GET hosts\nFilter: state = x", 400, "column 'state' expects a number, got 'x'"),
        ("GET hosts\nFilter: name ~ (", 400, "invalid regular expression for column 'name'"),
        ("GET hosts\nStats: sum name", 400, "sum needs a numeric column"),
        ("GET hosts\nOr: 3", 400, "Or: cannot combine 3 filters, only 0 given before"),
        ("GET hosts\nBogus: 1", 400, "Undefined request header 'Bogus'"),
        ("GET hosts\nLimit: -1", 400, "Limit: expected a non-negative integer, got '-1'"),
        ("GET hosts\nno colon here", 400, "Invalid header line 'no colon here'"),
        ("GET hosts\nOutputFormat: xml", 400, "OutputFormat: invalid value 'xml'"),
        ("PUT hosts", 400, "Invalid request method in 'PUT hosts'"),
        ("GET hosts\nLocaltime: soon", 400, "Localtime: expected Unix seconds"),
    ],
)
def test_bad_requests_get_livestatus_errors(site: Site, lql: str, code: int, message: str) -> None:
    got_code, body = query(site.socket, lql)
    assert got_code == code
    assert message in body.decode()


def test_a_huge_request_is_refused_and_the_site_goes_on(site: Site) -> None:
    big = b"GET hosts\nResponseHeader: fixed16\n" + b"Filter: name = x\n" * 10_000 + b"\n"
    raw = send(site.socket, big)
    assert raw[:4] == b"413 "
    assert b"larger than 65536 bytes" in raw
    assert rows(site.socket, "GET status\nColumns: num_hosts") == [[3]]


def test_a_slow_client_holds_only_its_own_connection(site: Site) -> None:
    with socket.socket(socket.AF_UNIX) as slow:
        slow.connect(str(site.socket))
        slow.sendall(b"GET hosts\nColumns: name\n")  # and never the empty line
        started = time.monotonic()
        assert rows(site.socket, "GET status\nColumns: num_hosts") == [[3]]
        assert time.monotonic() - started < 1.0
        slow.settimeout(5)
        assert slow.recv(100) == b""  # request_timeout (1 s) closed it
        assert time.monotonic() - started < 4.0
