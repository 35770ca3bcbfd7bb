"""COMMAND lines over the socket, carried out through the site's actions: acknowledgements,
downtimes, comments, rechecks; refused commands answer with an error and change nothing."""

from __future__ import annotations

import itertools
import socket
import time

import pytest
from lsclient import read_fixed16, rows, send
from lssite import Site

pytestmark = pytest.mark.integration


_numbers = itertools.count(1)


@pytest.fixture
def svc(acting_site: Site) -> tuple[str, str]:
    """A host of this test's own with a CRIT passive service."""
    host = f"cmd{next(_numbers)}"
    http = acting_site.http
    http.post("/api/v1/hosts", json={"name": host}).raise_for_status()
    r = http.post(f"/api/v1/hosts/{host}/services", json={"name": "Queue", "max_check_attempts": 1})
    r.raise_for_status()
    acting_site.result(host, "Queue", 2, "stuck")
    return host, "Queue"


def command(site: Site, line: str) -> bytes:
    """Send one command the way Thruk does (then half-close) and return any answer."""
    return send(site.socket, f"COMMAND [{int(time.time())}] {line}\n\n".encode())


def svc_row(site: Site, host: str, columns: str) -> list[object]:
    got = rows(site.socket, f"GET services\nColumns: {columns}\nFilter: host_name = {host}")
    assert len(got) == 1
    return got[0]


def events(site: Site, host: str) -> list[dict[str, object]]:
    r = site.http.get("/api/v1/events", params={"host": host})
    r.raise_for_status()
    items: list[dict[str, object]] = r.json()["items"]
    return items


def test_acknowledge_and_remove(acting_site: Site, svc: tuple[str, str]) -> None:
    host, name = svc
    assert command(acting_site, f"ACKNOWLEDGE_SVC_PROBLEM;{host};{name};1;0;1;alice;on it") == b""
    acked, kind, comments = svc_row(acting_site, host, "acknowledged acknowledgement_type comments")
    assert (acked, kind) == (1, 1)  # sticky 1 is a normal (non-sticky) acknowledgement
    lql = f"GET comments\nColumns: author comment entry_type persistent\nFilter: id = {comments[0]}"  # type: ignore[index]
    assert rows(acting_site.socket, lql) == [["alice", "on it", 4, 1]]
    ack = next(e for e in events(acting_site, host) if e["type"] == "ack_set")
    assert (ack["author"], ack["comment"]) == ("alice", "on it")
    assert command(acting_site, f"REMOVE_SVC_ACKNOWLEDGEMENT;{host};{name}") == b""
    assert svc_row(acting_site, host, "acknowledged") == [0]
    removed = next(e for e in events(acting_site, host) if e["type"] == "ack_removed")
    assert removed["author"] == "livestatus"


def test_host_acknowledgement(acting_site: Site, svc: tuple[str, str]) -> None:
    host, _ = svc
    acting_site.result(host, "", 1, "down")
    assert command(acting_site, f"ACKNOWLEDGE_HOST_PROBLEM;{host};2;1;0;bob;router") == b""
    got = rows(
        acting_site.socket,
        f"GET hosts\nColumns: acknowledged acknowledgement_type\nFilter: name = {host}",
    )
    assert got == [[1, 2]]


def test_downtime_schedule_and_delete(acting_site: Site, svc: tuple[str, str]) -> None:
    host, name = svc
    now = int(time.time())
    line = f"SCHEDULE_SVC_DOWNTIME;{host};{name};{now - 5};{now + 3600};1;0;3600;carol;patching"
    assert command(acting_site, line) == b""
    depth, ids = svc_row(acting_site, host, "scheduled_downtime_depth downtimes")
    assert depth == 1
    lql = (
        "GET downtimes\nColumns: author comment start_time end_time fixed duration type "
        "host_name service_description\n"
    )
    got = rows(acting_site.socket, lql + f"Filter: id = {ids[0]}")  # type: ignore[index]
    assert got == [["carol", "patching", now - 5, now + 3600, 1, 3605, 2, host, name]]
    assert command(acting_site, f"DEL_SVC_DOWNTIME;{ids[0]}") == b""  # type: ignore[index]
    assert svc_row(acting_site, host, "scheduled_downtime_depth downtimes") == [0, []]


def test_host_downtime_with_services_and_flexible(acting_site: Site, svc: tuple[str, str]) -> None:
    host, _ = svc
    now = int(time.time())
    line = f"SCHEDULE_HOST_SVC_DOWNTIME;{host};{now - 1};{now + 600};1;0;0;dave;rack move"
    assert command(acting_site, line) == b""
    assert svc_row(acting_site, host, "scheduled_downtime_depth host_scheduled_downtime_depth") == [
        1,
        1,
    ]
    flexible = f"SCHEDULE_HOST_DOWNTIME;{host};{now + 60};{now + 600};0;0;120;dave;later"
    assert command(acting_site, flexible) == b""
    got = rows(
        acting_site.socket,
        f"GET downtimes\nColumns: fixed duration is_pending\nFilter: host_name = {host}\n"
        "Filter: fixed = 0",
    )
    assert got == [[0, 120, 1]]


def test_comments(acting_site: Site, svc: tuple[str, str]) -> None:
    host, name = svc
    assert (
        command(acting_site, f"ADD_SVC_COMMENT;{host};{name};1;erin;see ticket 42; and 43") == b""
    )
    assert command(acting_site, f"ADD_HOST_COMMENT;{host};0;erin;host note") == b""
    got = rows(
        acting_site.socket,
        "GET comments\nColumns: type author comment service_description\n"
        f"Filter: host_name = {host}",
    )
    assert sorted(got) == [[1, "erin", "host note", ""], [2, "erin", "see ticket 42; and 43", name]]


def test_comment_deleted_by_id(acting_site: Site, svc: tuple[str, str]) -> None:
    host, name = svc
    assert command(acting_site, f"ADD_SVC_COMMENT;{host};{name};1;erin;short-lived") == b""
    (ids,) = svc_row(acting_site, host, "comments")
    assert command(acting_site, f"DEL_SVC_COMMENT;{ids[0]}") == b""  # type: ignore[index]
    assert svc_row(acting_site, host, "comments") == [[]]
    gone = next(e for e in events(acting_site, host) if e["type"] == "comment_removed")
    assert (gone["author"], gone["comment"]) == ("livestatus", "short-lived")
    assert command(acting_site, f"DEL_SVC_COMMENT;{ids[0]}").startswith(b"452: ")  # type: ignore[index]
    # the REST API deletes through the same action
    assert command(acting_site, f"ADD_HOST_COMMENT;{host};1;erin;via api") == b""
    lql = f"GET comments\nColumns: id\nFilter: host_name = {host}"
    (cid,) = rows(acting_site.socket, lql)[0]
    r = acting_site.http.post("/api/v1/actions/remove-comment", json={"ids": [cid]})
    assert r.status_code == 200, r.text
    assert rows(acting_site.socket, lql) == []


def test_recheck_of_a_passive_service_is_refused(acting_site: Site, svc: tuple[str, str]) -> None:
    host, name = svc
    answer = command(acting_site, f"SCHEDULE_FORCED_SVC_CHECK;{host};{name};{int(time.time())}")
    assert answer.startswith(b"452: SCHEDULE_FORCED_SVC_CHECK: ")
    assert b"passive, no active check to run again" in answer


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("ACKNOWLEDGE_SVC_PROBLEM;{host};{svc};1;1;1;alice", "expected 7 fields"),
        ("ACKNOWLEDGE_SVC_PROBLEM;{host};{svc};3;1;1;a;c", "sticky must be one of 0/1/2, got '3'"),
        ("ACKNOWLEDGE_SVC_PROBLEM;{host};nope;1;1;1;a;c", "service {host}/nope not found"),
        ("ACKNOWLEDGE_HOST_PROBLEM;{host};1;1;1;a;c", "no problem to acknowledge"),
        ("SCHEDULE_SVC_DOWNTIME;{host};{svc};x;2;1;0;0;a;c", "start_time must be an integer"),
        ("SCHEDULE_SVC_DOWNTIME;{host};{svc};20;10;1;0;0;a;c", "end must be after start"),
        ("DEL_SVC_DOWNTIME;999999", "downtime(s) 999999 not found"),
        ("ADD_SVC_COMMENT;{host};{svc};1;a;", "a comment needs text"),
        ("DISABLE_NOTIFICATIONS", "DISABLE_NOTIFICATIONS: not a command Lookout carries out"),
        ("acknowledge it", "malformed command line"),
    ],
)
def test_bad_commands_change_nothing(
    acting_site: Site, svc: tuple[str, str], line: str, message: str
) -> None:
    host, name = svc
    before = rows(acting_site.socket, "GET comments\nStats: id > 0") + rows(
        acting_site.socket, "GET downtimes\nStats: id > 0"
    )
    answer = command(acting_site, line.format(host=host, svc=name))
    assert answer.startswith(b"452: ")
    assert message.format(host=host).encode() in answer
    assert svc_row(acting_site, host, "acknowledged scheduled_downtime_depth") == [0, 0]
    after = rows(acting_site.socket, "GET comments\nStats: id > 0") + rows(
        acting_site.socket, "GET downtimes\nStats: id > 0"
    )
    assert after == before


def test_commands_on_a_kept_alive_connection_get_no_answer(
    acting_site: Site, svc: tuple[str, str]
) -> None:
    """A client that keeps the connection reads nothing for commands, errors included: the
    next answer it reads is its query's."""
    host, name = svc
    with socket.socket(socket.AF_UNIX) as s:
        s.settimeout(5)
        s.connect(str(acting_site.socket))
        s.sendall(f"COMMAND [1] ACKNOWLEDGE_SVC_PROBLEM;{host};nope;1;1;1;a;c\n\n".encode())
        s.sendall(f"COMMAND [1] ACKNOWLEDGE_SVC_PROBLEM;{host};{name};1;1;1;a;c\n\n".encode())
        lql = f"GET services\nColumns: acknowledged\nFilter: host_name = {host}\n"
        s.sendall((lql + "KeepAlive: on\nResponseHeader: fixed16\n\n").encode())
        assert read_fixed16(s) == (200, b"1\n")


def test_a_refused_command_with_fixed16_answers_in_that_framing(
    acting_site: Site, svc: tuple[str, str]
) -> None:
    host, _ = svc
    raw = send(
        acting_site.socket,
        f"COMMAND [1] REMOVE_HOST_ACKNOWLEDGEMENT;{host}\nResponseHeader: fixed16\n\n".encode(),
    )
    assert raw.startswith(b"452 ")
    assert raw[16:] == f"REMOVE_HOST_ACKNOWLEDGEMENT: {host}: not acknowledged\n".encode()


def test_stats_answer_counts_again_after_an_action(acting_site: Site, svc: tuple[str, str]) -> None:
    """A Stats answer is given again for a while (Thruk asks the same counts on every page),
    but a user's own action shows at once, and a state change from a result within
    ``stats_reuse`` (1 s by default)."""
    host, name = svc
    lql = (
        f"GET services\nFilter: host_name = {host}\nStats: state = 2\n"
        "Stats: state = 2\nStats: acknowledged = 1\nStatsAnd: 2"
    )
    assert rows(acting_site.socket, lql) == [[1, 0]]
    assert command(acting_site, f"ACKNOWLEDGE_SVC_PROBLEM;{host};{name};1;0;1;alice;on it") == b""
    assert rows(acting_site.socket, lql) == [[1, 1]]  # the action counted at once
    acting_site.result(host, name, 0, "fine again")
    deadline = time.monotonic() + 5
    while rows(acting_site.socket, lql) != [[0, 0]]:
        assert time.monotonic() < deadline, "a state change never reached the Stats answer"
        time.sleep(0.1)


def test_commands_are_audited_as_livestatus(acting_site: Site, svc: tuple[str, str]) -> None:
    host, name = svc
    assert command(acting_site, f"ADD_SVC_COMMENT;{host};{name};1;carol;rack 4") == b""
    r = acting_site.http.get("/api/v1/audit", params={"object": host, "kind": "comment"})
    r.raise_for_status()
    (entry,) = r.json()["items"]
    assert (entry["channel"], entry["actor"], entry["address"]) == ("livestatus", "carol", "unix")
    assert entry["after"]["comment"] == "rack 4"
