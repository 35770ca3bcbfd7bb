"""The spawner processes: the same executions as the executor, from helper processes."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

import pytest

from lookout.sources.active.plugins import DISABLED
from lookout.sources.active.spawner import SpawnerClient, SpawnerPool

pytestmark = pytest.mark.integration


def script(tmp_path: Path, name: str, body: str) -> str:
    path = tmp_path / name
    path.write_text("#!/bin/sh\n" + body + "\n")
    path.chmod(0o755)
    return str(path)


async def test_runs_in_turn_and_answer_like_the_executor(tmp_path: Path) -> None:
    pool = SpawnerPool(2, concurrency=4)
    try:
        argv = [script(tmp_path, "p", 'echo "WARN - $1 | x=1"; exit 1'), "a b"]
        runs = await asyncio.gather(*(pool.execute(argv, 5) for _ in range(6)))
        assert {(r.exit_code, r.output) for r in runs} == {(1, "WARN - a b | x=1\n")}
        assert pool.started == 6
        hang = await pool.execute([script(tmp_path, "h", "sleep 30")], 0.2)
        assert (hang.timed_out, hang.error) == (True, "timed out after 0.2 s")
        missing = await pool.execute([str(tmp_path / "nope")], 1)
        assert missing.error == f"plugin {tmp_path}/nope not found"
    finally:
        await pool.aclose()


async def test_a_dead_spawner_answers_unknown_and_is_replaced(tmp_path: Path) -> None:
    client = SpawnerClient(concurrency=2)
    try:
        slow = asyncio.ensure_future(client.execute([script(tmp_path, "s", "sleep 5")], 10))
        await asyncio.sleep(0.5)
        proc = client._proc
        assert proc is not None
        os.kill(proc.pid, signal.SIGKILL)
        assert (await slow).error == "the spawner process exited"
        again = await client.execute([script(tmp_path, "e", "echo back")], 5)
        assert (again.exit_code, again.output) == (0, "back\n")
    finally:
        await client.aclose()


async def test_disabled_pool_starts_no_process() -> None:
    pool = SpawnerPool(2, enabled=False)
    assert (await pool.execute(["/bin/true"], 1)).error == DISABLED
    assert all(c._proc is None for c in pool._clients)


def _gone(pid: int) -> bool:
    """The process is gone (or a zombie waiting for init to reap it)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] == "Z"


async def test_a_spawner_killed_with_sigkill_takes_its_plugins_with_it(tmp_path: Path) -> None:
    pidfile = tmp_path / "child.pid"
    plugin = script(tmp_path, "stuck", f"sleep 60 & echo $! > {pidfile}; wait")
    client = SpawnerClient(concurrency=2)
    try:
        stuck = asyncio.ensure_future(client.execute([plugin], 120))
        for _ in range(1200):  # the child runs once the file has its pid (a loaded machine
            # takes seconds to start the helper: it imports Python modules)
            if pidfile.exists() and pidfile.read_text().strip():
                break
            await asyncio.sleep(0.05)
        child = int(pidfile.read_text())
        proc = client._proc
        assert proc is not None
        os.kill(proc.pid, signal.SIGKILL)  # no chance to clean up: the site must
        assert (await stuck).error == "the spawner process exited"
        for _ in range(100):
            if _gone(child):
                break
            await asyncio.sleep(0.05)
        assert _gone(child), f"the plugin's child {child} outlived its spawner"
    finally:
        await client.aclose()
