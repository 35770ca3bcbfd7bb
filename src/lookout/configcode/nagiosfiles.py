"""Reading a Nagios configuration from disk: the main file, then every ``cfg_file`` and every
``*.cfg`` under each ``cfg_dir`` (sorted), handed to the pure parser."""

from __future__ import annotations

from pathlib import Path

from lookout.configcode.nagios import (
    Definition,
    Imported,
    Note,
    parse_main,
    parse_objects,
    translate,
)
from lookout.errors import ConfigError


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read it ({exc.strerror or exc})") from exc


def object_files(main: Path) -> tuple[list[Path], int, list[Path]]:
    """The object files ``main`` names, in reading order, its ``interval_length``, and the
    ``cfg_dir`` directories that do not exist."""
    cfg = parse_main(_read(main))
    base = main.parent
    files = [base / f for f in cfg.cfg_files]
    missing = []
    for d in cfg.cfg_dirs:
        root = base / d
        if root.is_dir():
            files += sorted(p for p in root.rglob("*.cfg") if p.is_file())
        else:
            missing.append(root)
    return files, cfg.interval_length, missing


def import_nagios(main: Path) -> Imported:
    """Parse ``main`` (``nagios.cfg``, or a single object file) and translate it."""
    text = _read(main)
    missing: list[Path] = []
    if "define " in text and "cfg_file" not in text and "cfg_dir" not in text:
        files, interval = [main], 60
    else:
        files, interval, missing = object_files(main)
    defs: list[Definition] = []
    notes = [Note(str(main), 0, f"cfg_dir {d} does not exist") for d in missing]
    for path in files:
        if not path.is_file():
            notes.append(Note(str(main), 0, f"cfg_file {path} does not exist"))
            continue
        found, problems = parse_objects(_read(path), str(path))
        defs += found
        notes += problems
    return translate(defs, interval_length=interval, notes=notes)
