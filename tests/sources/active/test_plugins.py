"""The executor with real programs: Debian's monitoring-plugins and small hostile scripts.

The plugins come from ``scripts/test-deps.d/plugins.sh``; without them the plugin tests are
skipped on a developer machine and fail in CI (``CI`` set), like PostgreSQL's.
"""

from __future__ import annotations

import asyncio
import http.server
import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from lookout.checks.active.nagios import outcome_of
from lookout.checks.active.registry import validate_check_config
from lookout.domain.commands import Command, Execution
from lookout.sources.active.plugins import DISABLED, CommandRunner, Executor, read_resource_file

PLUGINS = Path("/usr/lib/nagios/plugins")

pytestmark = pytest.mark.integration


@pytest.fixture
def plugins() -> Path:
    """The plugin directory; skip (fail in CI) without Debian's monitoring-plugins."""
    if not (PLUGINS / "check_dummy").exists():
        reason = f"{PLUGINS}/check_dummy missing (run scripts/test-deps.d/plugins.sh)"
        if os.environ.get("CI"):
            pytest.fail(f"monitoring-plugins are required in CI: {reason}")
        pytest.skip(reason)
    return PLUGINS


def script(tmp_path: Path, name: str, body: str, mode: int = 0o755) -> str:
    path = tmp_path / name
    path.write_text("#!/bin/sh\n" + body + "\n")
    path.chmod(mode)
    return str(path)


async def run(argv: list[str], time_limit: float = 10.0, **kw: float) -> Execution:
    return await Executor(**kw).execute(argv, time_limit)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("code", "label"), [(0, "OK"), (1, "WARNING"), (2, "CRITICAL"), (3, "UNKNOWN")]
)
async def test_check_dummy_every_state(plugins: Path, code: int, label: str) -> None:
    ex = await run([str(plugins / "check_dummy"), str(code), "all said"])
    assert ex.exit_code == code
    outcome = outcome_of(ex)
    assert (outcome.state, outcome.summary) == (code, f"{label}: all said")


async def test_long_output_and_perfdata_from_both_parts(tmp_path: Path) -> None:
    text = "DISK OK - fine | a=1;2;3;0;10\nline two\nline three | b=2.5s;;;0 c=U\nd=7%;80;90"
    ex = await run([script(tmp_path, "p", f"cat <<'EOF'\n{text}\nEOF")])
    outcome = outcome_of(ex)
    assert outcome.state == 0
    assert outcome.summary == "DISK OK - fine"
    assert outcome.long_output == "line two\nline three"
    assert [(m.name, m.value, m.unit) for m in outcome.metrics] == [
        ("a", 1.0, ""),
        ("b", 2.5, "s"),
        ("d", 7.0, "%"),
    ]
    assert (outcome.metrics[0].warn, outcome.metrics[0].crit, outcome.metrics[0].max) == (2, 3, 10)


async def test_ranges_in_thresholds(tmp_path: Path) -> None:
    ex = await run([script(tmp_path, "p", "echo 'OK | t=5;@10:20;~:30'; exit 1")])
    outcome = outcome_of(ex)
    assert outcome.state == 1
    assert (outcome.metrics[0].warn, outcome.metrics[0].crit) == (20, 30)


async def test_bad_perfdata_keeps_state_and_summary(tmp_path: Path) -> None:
    ex = await run([script(tmp_path, "p", "echo 'CRIT - bad | x=abc'; exit 2")])
    outcome = outcome_of(ex)
    assert (outcome.state, outcome.summary, outcome.metrics) == (2, "CRIT - bad", ())
    assert "perfdata ignored: metric 'x': value 'abc' is not a number" in outcome.long_output


async def test_check_tcp_open_and_closed_port(plugins: Path) -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        ok = outcome_of(await run([str(plugins / "check_tcp"), "-H", "127.0.0.1", "-p", str(port)]))
    assert ok.state == 0, ok
    assert ok.summary.startswith("TCP OK - ")
    assert ok.metrics[0].name == "time"
    assert ok.metrics[0].unit == "s"
    closed = outcome_of(await run([str(plugins / "check_tcp"), "-H", "127.0.0.1", "-p", str(port)]))
    assert closed.state == 2
    assert "Connection refused" in closed.summary


@pytest.fixture
def http_server() -> Iterator[int]:
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = b"hello lookout\n"
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


async def test_check_http_against_a_local_server(plugins: Path, http_server: int) -> None:
    argv = [str(plugins / "check_http"), "-H", "127.0.0.1", "-p", str(http_server), "-s", "lookout"]
    outcome = outcome_of(await run(argv))
    assert outcome.state == 0, outcome
    assert outcome.summary.startswith("HTTP OK: HTTP/1.0 200 OK")
    assert {m.name for m in outcome.metrics} >= {"time", "size"}
    missing = outcome_of(await run([*argv[:-1], "not there"]))
    assert missing.state == 2
    assert "string 'not there' not found" in missing.summary


async def test_check_disk_procs_load(plugins: Path) -> None:
    disk = outcome_of(await run([str(plugins / "check_disk"), "-w", "0%", "-c", "0%", "-p", "/"]))
    assert disk.state == 0, disk
    assert disk.summary.startswith("DISK OK")
    assert disk.metrics[0].name == "/"
    assert disk.metrics[0].unit == "B"
    procs = outcome_of(await run([str(plugins / "check_procs"), "-w", "100000", "-c", "200000"]))
    assert procs.state == 0, procs
    assert procs.summary.startswith("PROCS OK")
    assert procs.metrics[0].name == "procs"
    assert procs.metrics[0].value >= 1
    load = outcome_of(
        await run([str(plugins / "check_load"), "-w", "999,999,999", "-c", "999,999,999"])
    )
    assert load.state == 0, load
    assert load.summary.startswith("LOAD OK")
    assert [m.name for m in load.metrics] == ["load1", "load5", "load15"]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"


async def test_a_hanging_plugin_is_killed_with_its_children(tmp_path: Path) -> None:
    pidfile = tmp_path / "child.pid"
    argv = [script(tmp_path, "hang", f"sleep 300 & echo $! > {pidfile}; echo started; wait")]
    started = time.monotonic()
    ex = await run(argv, 0.5, kill_grace=0.5)
    assert time.monotonic() - started < 3
    outcome = outcome_of(ex)
    assert (outcome.state, outcome.summary) == (3, "hang timed out after 0.5 s")
    assert outcome.long_output == "started"
    child = int(pidfile.read_text())
    for _ in range(50):
        if not _alive(child):
            break
        await asyncio.sleep(0.05)
    assert not _alive(child), "the plugin's child survived the timeout"


async def test_a_plugin_that_ignores_sigterm_is_killed(tmp_path: Path) -> None:
    argv = [script(tmp_path, "stubborn", "trap '' TERM; while :; do sleep 0.1; done")]
    ex = await run(argv, 0.3, kill_grace=0.2)
    assert ex.timed_out


async def test_megabytes_of_output_are_cut(tmp_path: Path) -> None:
    argv = [script(tmp_path, "loud", "head -c 5000000 /dev/zero | tr '\\0' x; echo; exit 1")]
    ex = await run(argv)
    assert (ex.exit_code, ex.cut, len(ex.output)) == (1, True, 64 * 1024)
    outcome = outcome_of(ex)
    assert outcome.state == 1
    assert outcome.long_output.endswith("(output cut after 64 KiB)")
    assert len(outcome.summary) <= 4096


async def test_no_output_is_unknown(tmp_path: Path) -> None:
    outcome = outcome_of(await run([script(tmp_path, "quiet", "exit 0")]))
    assert (outcome.state, outcome.summary) == (3, "quiet printed no output (exit code 0)")


async def test_exit_code_7_and_signals_are_unknown(tmp_path: Path) -> None:
    seven = outcome_of(await run([script(tmp_path, "seven", "echo odd; exit 7")]))
    assert (seven.state, seven.summary) == (3, "seven exited with code 7: odd")
    killed = outcome_of(await run([script(tmp_path, "killed", "echo bye; kill -9 $$")]))
    assert (killed.state, killed.summary) == (3, "killed was killed by signal 9 (SIGKILL)")
    assert killed.long_output == "bye"


async def test_missing_and_not_executable_plugins(tmp_path: Path) -> None:
    missing = outcome_of(await run([str(tmp_path / "check_nothing")]))
    assert (missing.state, missing.summary) == (3, f"plugin {tmp_path}/check_nothing not found")
    plain = script(tmp_path, "plain", "echo hi", mode=0o644)
    refused = outcome_of(await run([plain]))
    assert refused.state == 3
    assert refused.summary == f"plugin {plain} is not executable (permission denied)"


async def test_environment_is_minimal_and_stdin_empty(tmp_path: Path) -> None:
    ex = await run([script(tmp_path, "env", "env | sort; cat; echo end")])
    lines = ex.output.splitlines()
    names = {line.split("=", 1)[0] for line in lines if "=" in line}
    assert names <= {"LANG", "LC_ALL", "PATH", "PWD", "SHLVL", "_"}
    assert lines[-1] == "end"


async def test_concurrency_limit(tmp_path: Path) -> None:
    executor = Executor(concurrency=2)
    argv = [script(tmp_path, "slow", "sleep 0.2; echo ok")]
    started = time.monotonic()
    await asyncio.gather(*(executor.execute(argv, 5) for _ in range(4)))
    assert time.monotonic() - started >= 0.4


async def test_disabled_executor_spawns_nothing(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    executor = Executor(enabled=False)
    ex = await executor.execute([script(tmp_path, "touch", f"touch {marker}")], 5)
    assert ex.error == DISABLED
    assert (executor.started, marker.exists()) == (0, False)
    assert outcome_of(ex).summary == "execution disabled on this site"


async def test_command_runner_expands_macros_and_user1(plugins: Path, tmp_path: Path) -> None:
    resource = tmp_path / "resource.cfg"
    resource.write_text(f"$USER1$={plugins}\n")
    runner = CommandRunner(Executor(), read_resource_file(resource))
    runner.commands["check_dummy"] = Command.parse(
        "check_dummy", "$USER1$/check_dummy $ARG1$ $HOSTADDRESS$"
    )
    hostile = "x -w 1; rm -rf /"
    ex = await runner.run_command("check_dummy", {"ARG1": "1", "HOSTADDRESS": hostile}, 5)
    assert outcome_of(ex).summary == f"WARNING: {hostile}"
    unknown = await runner.run_command("nope", {}, 5)
    assert outcome_of(unknown).summary == "command 'nope' is not defined on this site"
    assert read_resource_file(tmp_path / "absent.cfg") == {"USER1": "/usr/lib/nagios/plugins"}


def test_nagios_check_config() -> None:
    config = validate_check_config({"type": "nagios", "command": "check_tcp", "args": ["22"]})
    assert config.timeout == 10.0
