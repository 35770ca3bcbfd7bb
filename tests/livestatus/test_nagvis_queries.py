"""The queries NagVis's Livestatus backend sends (its ``mklivestatus`` class, which asks with
``Separators: 0 1 2 3`` and reads until the server closes), answered in the shape it parses."""

from __future__ import annotations

import pytest
from lsclient import send
from lssite import Site

pytestmark = pytest.mark.integration


def nagvis(site: Site, query: str) -> list[list[str]]:
    """As NagVis does it: the query, its separators, half-close, split on bytes 0 and 1."""
    raw = send(site.socket, (query + "Separators: 0 1 2 3\n").encode())
    lines = raw.decode().split("\0")
    assert lines.pop() == ""  # a dataset separator ends every row
    return [line.split("\1") for line in lines]


def test_host_state(site: Site) -> None:
    (row,) = nagvis(
        site,
        "GET hosts\nColumns: state plugin_output alias display_name address notes last_check "
        "next_check state_type current_attempt max_attempts last_state_change "
        "last_hard_state_change statusmap_image perf_data last_hard_state acknowledged "
        "downtimes\nFilter: name = db01\n",
    )
    assert len(row) == 18
    assert row[:5] == ["1", "no ping", "db01", "db01", "db01"]
    assert (row[8], row[10], row[16], row[17]) == ("1", "1", "0", "")


def test_service_state(site: Site) -> None:
    got = nagvis(
        site,
        "GET services\nFilter: host_name = web01\nColumns: description display_name state "
        "host_alias host_address plugin_output notes last_check next_check state_type "
        "current_attempt max_attempts last_state_change last_hard_state_change "
        "scheduled_downtime_depth perf_data last_hard_state acknowledged host_acknowledged "
        "downtimes host_downtimes\n",
    )
    by_name = {row[0]: row for row in got}
    assert set(by_name) == {"HTTP", "Disk /", "Load"}
    disk = by_name["Disk /"]
    assert len(disk) == 21
    assert (disk[2], disk[3], disk[4], disk[5]) == ("2", "Web server", "10.0.0.5", "97% full")
    assert by_name["HTTP"][15] == "time=0.12s;1;2;0"


def test_topology_and_groups(site: Site) -> None:
    roots = nagvis(site, "GET hosts\nColumns: name\nFilter: parents =\n")
    assert [r[0] for r in roots] == ["web01", "idle01"]
    assert nagvis(site, "GET hosts\nColumns: childs\nFilter: name = web01\n") == [["db01"]]
    members = nagvis(site, "GET hostgroups\nColumns: members\nFilter: name = prod\n")
    assert members == [["web01\2db01"]]
    services = nagvis(site, "GET servicegroups\nColumns: members\nFilter: name = frontend\n")
    assert services == [["web01\3HTTP\2db01\3PostgreSQL"]]
    assert nagvis(site, "GET servicegroups\nColumns: alias\nFilter: name = data\n") == [["data"]]
