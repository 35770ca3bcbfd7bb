"""Event handlers on a real site (issue 11): a handler that restarts a toy service on the
second soft CRIT, so the hard state never comes; what each run did is in the event log."""

from __future__ import annotations

import stat
from pathlib import Path

import httpx
from webapi import Api, locs, problem_of, unique, wait_for

CHECK = """#!/bin/sh
# the toy service is down while its flag file exists
if [ -e "$1" ]; then echo "CRITICAL - toy is down"; exit 2; fi
echo "OK - toy is up"; exit 0
"""
RESTART = """#!/bin/sh
# $1 state, $2 state type, $3 attempt, $4 the toy's flag file, $5 the log
echo "$1 $2 $3" >> "$5"
if [ "$1" = CRITICAL ] && [ "$2" = SOFT ] && [ "$3" = 2 ]; then
  rm -f "$4"; echo "restarted the toy"; exit 0
fi
echo "nothing to do"
"""


def _script(path: Path, text: str) -> Path:
    path.write_text(text)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def _command(admin: httpx.Client, line: str) -> str:
    name = unique("cmd")
    r = admin.post("/api/v1/commands", json={"name": name, "command_line": line})
    assert r.status_code == 201, r.text
    return name


def test_a_handler_restarts_the_service_before_the_hard_state(
    api: Api, admin: httpx.Client, tmp_path: Path
) -> None:
    check = _command(admin, f"{_script(tmp_path / 'check_toy', CHECK)} $ARG1$")
    restart = _command(
        admin,
        f"{_script(tmp_path / 'restart_toy', RESTART)} $SERVICESTATE$ $SERVICESTATETYPE$ "
        "$SERVICEATTEMPT$ $ARG1$ $ARG2$",
    )
    flag, log = tmp_path / "down", tmp_path / "handler.log"
    host = api.host()
    api.service(
        host,
        "toy",
        check={"type": "nagios", "command": check, "args": [str(flag)], "timeout": 5},
        check_interval=0.5,
        retry_interval=0.3,
        max_check_attempts=3,
        event_handler={"command": restart, "args": [str(flag), str(log)], "timeout": 5},
    )
    wait_for(lambda: api.svc(host, "toy")["state_name"] == "OK")
    flag.touch()  # the toy goes down
    wait_for(lambda: log.exists() and "OK HARD 1" in log.read_text(), timeout=20)
    assert log.read_text().splitlines()[-3:] == ["CRITICAL SOFT 1", "CRITICAL SOFT 2", "OK HARD 1"]
    changes = api.events(host=host, service="toy", type="state_change")
    assert not [e for e in changes if e["state"] == 2 and e["state_type"] == "hard"]
    runs = api.events(host=host, service="toy", type="event_handler")
    assert [r["comment"].strip() for r in reversed(runs)][-3:] == [
        "nothing to do",
        "restarted the toy",
        "nothing to do",
    ]
    assert {r["data"]["exit_code"] for r in runs} == {0}
    assert runs[0]["summary"].startswith(f"{restart} exited 0 after")


def test_a_handler_must_name_a_command_and_keeps_it_in_use(api: Api, admin: httpx.Client) -> None:
    host = api.host()
    body = {"name": "svc", "event_handler": {"command": "no-such-command"}}
    r = admin.post(f"/api/v1/hosts/{host}/services", json=body)
    assert ["event_handler", "command"] in locs(problem_of(r, 422))
    name = _command(admin, "/bin/true")
    r = admin.patch(f"/api/v1/hosts/{host}", json={"event_handler": {"command": name}})
    assert r.status_code == 200, r.text
    assert r.json()["event_handler"] == {"command": name, "args": [], "timeout": 30.0}
    used = problem_of(admin.delete(f"/api/v1/commands/{name}"), 409)
    assert f"{host} (event handler)" in used["detail"]
    r = admin.patch(f"/api/v1/hosts/{host}", json={"event_handler": None})
    assert r.json()["event_handler"] is None
    assert admin.delete(f"/api/v1/commands/{name}").status_code == 204
