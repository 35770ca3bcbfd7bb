"""The engine's hot path compiled with mypyc, when a build of the current sources is present.

``scripts/compile-engine`` (run by ``scripts/setup-venv test``) compiles :data:`MODULES` into
``lookout/_compiled/`` beside this file, with a manifest of the sources' hashes. The packages
``lookout.engine`` and ``lookout.domain`` call :func:`extend_path` from their ``__init__``: when
the build matches the sources byte for byte, its directories go first on their ``__path__``, so
``import lookout.engine.core`` loads the extension module; otherwise the Python sources load as
always. A build is used whole or not at all (its modules call each other natively).

``LOOKOUT_COMPILED``: unset or ``auto`` uses the build when it is usable (the default: with no
build, or a stale one, the Python sources run); ``0`` always runs the Python sources; ``1``
requires the build (an ImportError says why it cannot be used), so a test run of the compiled
modules cannot quietly test the sources.
"""

from __future__ import annotations

import hashlib
import importlib.machinery
import importlib.util
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path

MODULES = (
    "lookout.engine.core",
    "lookout.engine.transitions",
    "lookout.engine.status",
    "lookout.engine.flapping",
    "lookout.domain.perfdata",
    "lookout.domain.values",
)
"""Strictly typed, no I/O, and no ``msgspec.Struct`` classes (mypyc changes how a class's
annotations read, which msgspec relies on: ``web.api.ingest`` compiled refused every item)."""

ROOT = Path(__file__).resolve().parent
BUILD_DIR = ROOT / "_compiled"
MANIFEST = "manifest.json"
ENV = "LOOKOUT_COMPILED"


def source_path(module: str) -> Path:
    return ROOT.parent.joinpath(*module.split(".")).with_suffix(".py")


def source_hash(module: str) -> str:
    return hashlib.sha256(source_path(module).read_bytes()).hexdigest()


@dataclass(frozen=True, slots=True)
class Engine:
    """Which code runs the hot path: ``compiled`` True with the build, else ``why`` not."""

    compiled: bool
    why: str

    def describe(self) -> str:
        return "compiled (mypyc)" if self.compiled else f"Python ({self.why})"


def _check() -> Engine:
    mode = os.environ.get(ENV, "").strip().lower()
    if mode not in ("auto", "", "0", "1"):
        raise ImportError(f"{ENV}={mode!r}: expected auto, 0 or 1")
    if mode == "0":
        return Engine(False, f"{ENV}=0")
    problem = _problem()
    if problem is None:
        return Engine(True, "")
    if mode == "1":
        raise ImportError(f"{ENV}=1 but the compiled engine cannot be used: {problem}")
    return Engine(False, problem)


def _problem() -> str | None:
    """Why the build cannot be used, or None."""
    try:
        manifest = json.loads((BUILD_DIR / MANIFEST).read_text())
    except FileNotFoundError:
        return "no build: scripts/compile-engine makes one"
    except (OSError, ValueError) as exc:
        return f"unreadable build manifest: {exc}"
    if manifest.get("cache_tag") != sys.implementation.cache_tag:
        return f"built for {manifest.get('cache_tag')}, this is {sys.implementation.cache_tag}"
    hashes = manifest.get("sources", {})
    for module in MODULES:
        if hashes.get(module) != source_hash(module):
            return f"the build is older than {module}'s source: run scripts/compile-engine"
    lib = BUILD_DIR / str(manifest.get("runtime", ""))
    if not lib.is_file():
        return f"the build lacks its runtime library {lib.name}"
    return None


_state: Engine | None = None


def engine() -> Engine:
    """Decided once per process, at the first import of ``lookout.engine`` or ``.domain``."""
    global _state
    if _state is None:
        state = _check()
        if state.compiled:
            try:
                _load_runtime()
            except (ImportError, OSError, ValueError, KeyError) as exc:
                if os.environ.get(ENV, "").strip() == "1":
                    raise ImportError(f"{ENV}=1 but the compiled engine fails: {exc}") from exc
                state = Engine(False, f"the build cannot be loaded: {exc}")
        _state = state
    return _state


def _load_runtime() -> None:
    """The shared library the compiled modules import by its top-level name, loaded from the
    build directory without putting that directory on ``sys.path``."""
    manifest = json.loads((BUILD_DIR / MANIFEST).read_text())
    lib = BUILD_DIR / manifest["runtime"]
    name = lib.name.split(".", 1)[0]
    if name in sys.modules:
        return
    loader = importlib.machinery.ExtensionFileLoader(name, str(lib))
    spec = importlib.util.spec_from_file_location(name, lib, loader=loader)
    if spec is None:
        raise ImportError(f"cannot load {lib}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    loader.exec_module(module)


def extend_path(package: str, path: list[str]) -> None:
    """Put the build's directory of ``package`` first on its ``__path__`` (in place) when the
    compiled engine is used."""
    if engine().compiled:
        built = str(BUILD_DIR.joinpath(*package.split(".")))
        if built not in path:
            path.insert(0, built)
