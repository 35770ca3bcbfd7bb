"""Giving memory back to the system after bursts (glibc only; elsewhere these do nothing).

Under churn a checkpoint builds and drops 100,000s of rows on its own thread; glibc keeps what
was freed in per-thread arenas, so the process's resident size kept the high-water mark of
every burst (RSS 158 → 700 MiB in 30 s of churn). Two arenas for the whole process, and a trim
after each checkpoint, return it.
"""

from __future__ import annotations

import _sqlite3
import ctypes
import ctypes.util
import functools

M_ARENA_MAX = -8
"""``mallopt`` parameter (glibc ``malloc.h``)."""
SQLITE_STATUS_MEMORY_USED = 0
"""``sqlite3_status64`` parameter: bytes SQLite holds (page caches, statements, schemas)."""


@functools.cache
def _libc() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        libc = ctypes.CDLL(name)
        libc.malloc_trim  # noqa: B018  (glibc only: musl and others have none)
        libc.mallopt  # noqa: B018
    except (OSError, AttributeError):
        return None
    return libc


def limit_arenas(arenas: int = 2) -> None:
    """Cap glibc's malloc arenas (call before threads start)."""
    libc = _libc()
    if libc is not None:
        libc.mallopt(M_ARENA_MAX, arenas)


def trim() -> None:
    """Return freed heap memory to the system (a few ms; call off the event loop)."""
    libc = _libc()
    if libc is not None:
        libc.malloc_trim(0)


@functools.cache
def _sqlite_lib() -> ctypes.CDLL | None:
    """The SQLite library Python's ``sqlite3`` module runs on (linked to ``_sqlite3``)."""
    try:
        lib = ctypes.CDLL(_sqlite3.__file__)
        lib.sqlite3_status64  # noqa: B018
    except (OSError, AttributeError):
        return None
    return lib


def sqlite_bytes() -> int | None:
    """Bytes SQLite holds in this process right now (all connections), or None if unknown."""
    lib = _sqlite_lib()
    if lib is None:
        return None
    current, high = ctypes.c_int64(), ctypes.c_int64()
    status = lib.sqlite3_status64(
        SQLITE_STATUS_MEMORY_USED, ctypes.byref(current), ctypes.byref(high), 0
    )
    if status != 0:  # SQLITE_OK
        return None
    return current.value
