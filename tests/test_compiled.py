"""The compiled engine is used only when its build matches the sources (``lookout.compiled``).

Each case runs a fresh interpreter: which code runs is decided once per process. The cases on
a made-up build copy the few files the decision reads into a temporary tree; the real build
(``scripts/compile-engine``) is checked in ``test_the_build_in_this_tree_is_used_whole``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from lookout import compiled

SRC = Path(compiled.__file__).resolve().parents[1]

SHOW = """
import json, sys
from lookout import compiled
state = compiled.engine()
print(json.dumps({"compiled": state.compiled, "detail": state.describe()}))
"""

LOADED = """
import importlib, json
from lookout import compiled
files = {m: importlib.import_module(m).__file__ for m in compiled.MODULES}
print(json.dumps({"compiled": compiled.engine().compiled, "files": files}))
"""


def run(code: str, root: Path, mode: str | None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != compiled.ENV}
    if mode is not None:
        env[compiled.ENV] = mode
    env["PYTHONPATH"] = os.pathsep.join([str(root), *sys.path])
    return subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60
    )


def shown(code: str, root: Path, mode: str | None) -> dict[str, object]:
    done = run(code, root, mode)
    assert done.returncode == 0, done.stderr
    answer: dict[str, object] = json.loads(done.stdout)
    return answer


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """``lookout/compiled.py`` and the compiled modules' sources, with a build manifest that
    matches them and a runtime library file (empty: these cases never load it)."""
    for module in ("lookout", *compiled.MODULES):
        src = compiled.source_path(module) if module != "lookout" else SRC / "lookout/__init__.py"
        dst = tmp_path / src.relative_to(SRC)
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(src, dst)
    shutil.copy(SRC / "lookout/compiled.py", tmp_path / "lookout/compiled.py")
    build = tmp_path / "lookout/_compiled"
    build.mkdir()
    (build / "0000__mypyc.so").write_bytes(b"")
    manifest = {
        "cache_tag": sys.implementation.cache_tag,
        "runtime": "0000__mypyc.so",
        "sources": {m: compiled.source_hash(m) for m in compiled.MODULES},
    }
    (build / compiled.MANIFEST).write_text(json.dumps(manifest))
    return tmp_path


def test_a_matching_build_is_tried_unless_python_is_asked_for(tree: Path) -> None:
    # The runtime file is empty: a build that passed the checks shows as the loader refusing it.
    state = shown(SHOW, tree, "auto")
    assert state["compiled"] is False
    assert "Python (the build cannot be loaded:" in str(state["detail"])
    assert "0000__mypyc" in str(state["detail"])
    done = run(SHOW, tree, "1")
    assert done.returncode != 0
    assert "LOOKOUT_COMPILED=1 but the compiled engine fails" in done.stderr
    assert shown(SHOW, tree, "0") == {"compiled": False, "detail": "Python (LOOKOUT_COMPILED=0)"}
    assert shown(SHOW, tree, None) == shown(SHOW, tree, "auto")  # unset: the build if usable


def test_a_build_older_than_a_source_is_not_used(tree: Path) -> None:
    with (tree / "lookout/engine/transitions.py").open("a") as f:
        f.write("# changed\n")
    state = shown(SHOW, tree, "auto")
    assert state["compiled"] is False
    assert "older than lookout.engine.transitions's source" in str(state["detail"])
    done = run(SHOW, tree, "1")
    assert done.returncode != 0
    assert "LOOKOUT_COMPILED=1 but the compiled engine cannot be used" in done.stderr


def test_a_build_for_another_python_or_none_is_not_used(tree: Path) -> None:
    manifest = json.loads((tree / "lookout/_compiled/manifest.json").read_text())
    manifest["cache_tag"] = "cpython-399"
    (tree / "lookout/_compiled/manifest.json").write_text(json.dumps(manifest))
    assert "built for cpython-399" in str(shown(SHOW, tree, "auto")["detail"])
    shutil.rmtree(tree / "lookout/_compiled")
    assert shown(SHOW, tree, "auto") == {
        "compiled": False,
        "detail": "Python (no build: scripts/compile-engine makes one)",
    }


def test_an_unknown_mode_is_refused(tree: Path) -> None:
    done = run(SHOW, tree, "yes")
    assert done.returncode != 0
    assert "LOOKOUT_COMPILED='yes': expected auto, 0 or 1" in done.stderr


def test_the_build_in_this_tree_is_used_whole() -> None:
    """Every compiled module loads from the build, or none does (LOOKOUT_COMPILED=0 or no
    usable build); scripts/test builds it, so CI sees the compiled side."""
    auto = shown(LOADED, SRC, "auto")
    files = auto["files"]
    assert isinstance(files, dict)
    assert {str(f).endswith(".so") for f in files.values()} == {auto["compiled"]}
    python = shown(LOADED, SRC, "0")
    assert python["compiled"] is False
    assert isinstance(python["files"], dict)
    assert all(str(f).endswith(".py") for f in python["files"].values())
