"""Giving memory back to the system after bursts (glibc only; elsewhere these do nothing).

Under churn a checkpoint builds and drops 100,000s of rows on its own thread; glibc keeps what
was freed in per-thread arenas, so the process's resident size kept the high-water mark of
every burst (RSS 158 → 700 MiB in 30 s of churn). Two arenas for the whole process, and a trim
after each checkpoint, return it.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools

M_ARENA_MAX = -8
"""``mallopt`` parameter (glibc ``malloc.h``)."""


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
