"""Options of ``lookout`` itself (before the command), handed to commands in ``ctx.obj``."""

from __future__ import annotations

import traceback
from dataclasses import dataclass

import typer


@dataclass(frozen=True, slots=True)
class GlobalOptions:
    debug: bool = False
    """Print the full traceback of an error, not only its one-line message."""


def global_options(ctx: typer.Context) -> GlobalOptions:
    obj = ctx.find_root().obj
    return obj if isinstance(obj, GlobalOptions) else GlobalOptions()


def print_traceback(ctx: typer.Context, exc: BaseException) -> None:
    """With ``--debug``, the whole story of ``exc`` on stderr (its causes included)."""
    if global_options(ctx).debug:
        traceback.print_exception(exc)
