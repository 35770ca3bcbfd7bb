"""How ``--help`` shows a parameter's value: a flag shows nothing, an option its metavar
(``DURATION``, ``TIME``) or a word for its kind (``TEXT``, ``INTEGER``, ``NUMBER``, ``PATH``, or
its choices ``viewer|operator|admin``), an argument nothing (its name says it).

Typer (0.26 and later) prints a type tag such as ``<str>`` or ``<bool>`` next to every parameter
and has no setting to turn it off, so :func:`install` replaces the one method that renders it
(``display_type_rich``) on typer's option and argument classes. ``tests/cli/test_cli_help.py``
walks every command's help, so a typer that renders it elsewhere fails the tests.
"""

from __future__ import annotations

from pathlib import Path

from typer.core import TyperArgument, TyperOption

WORDS: dict[type, str] = {str: "TEXT", int: "INTEGER", float: "NUMBER", Path: "PATH"}
"""What a value of each Python type is called in help (click's names, NUMBER for float)."""


def option_value(option: TyperOption, ctx: object) -> str | None:
    """The word after an option in help, or None for a flag."""
    if option.is_flag or option.count:
        return None
    if option.metavar is not None:
        return option.metavar
    desc = option.type_descriptor
    if desc.is_choice:
        return "|".join(str(getattr(c, "value", c)) for c in desc.choices or ())
    annotation = desc.annotation
    if desc.is_list:
        annotation = getattr(annotation, "__args__", (str,))[0]
    return WORDS.get(annotation, "VALUE")


def argument_value(argument: TyperArgument, ctx: object) -> str | None:
    """Nothing: an argument's name (``host``) already says what it is."""
    return None


def install() -> None:
    """Use :func:`option_value` and :func:`argument_value` in every typer help page."""
    TyperOption.display_type_rich = option_value  # type: ignore[method-assign,assignment]
    TyperArgument.display_type_rich = argument_value  # type: ignore[method-assign,assignment]
