"""Run the executables in ``local.d/``; their output lines go to the server unparsed (the
server's parser is lenient and turns malformed lines into UNKNOWN services)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from lookout_agent import wire as w

MAX_LINES = 1000
MAX_LINE = 4096


def run(directory: Path | None, timeout: float = 10.0) -> w.LocalSection | None:
    if directory is None or not directory.is_dir():
        return None
    lines: list[str] = []
    errors: list[str] = []
    for path in sorted(directory.iterdir()):
        if path.name.startswith(".") or not path.is_file():
            continue
        if not os.access(path, os.X_OK):
            errors.append(f"{path.name}: not executable")
            continue
        try:
            proc = subprocess.run(
                [str(path)], capture_output=True, timeout=timeout, check=False, cwd=directory
            )
        except subprocess.TimeoutExpired:
            errors.append(f"{path.name}: timed out after {timeout:g} s")
            continue
        except OSError as exc:
            errors.append(f"{path.name}: {exc.strerror or exc}")
            continue
        if proc.returncode != 0 and not proc.stdout.strip():
            err = proc.stderr.decode(errors="replace").strip().splitlines()
            errors.append(
                f"{path.name}: exit code {proc.returncode}" + (f": {err[-1]}" if err else "")
            )
            continue
        for raw in proc.stdout.decode(errors="replace").splitlines():
            if raw.strip() and len(lines) < MAX_LINES:
                lines.append(raw[:MAX_LINE])
    return w.LocalSection(lines=lines, errors=errors)
