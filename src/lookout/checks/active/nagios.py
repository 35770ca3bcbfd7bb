"""Nagios plugin check: run a command definition of the site and read its output.

The check names a command (``{"type": "nagios", "command": "check_tcp", "args": ["22"]}``);
the site's :class:`~lookout.checks.active.CommandExecutor` expands the command's argv with the
host's macros and ``$ARGn$`` and runs it. :func:`outcome_of` turns what the program did into an
outcome with the plugin API's semantics: exit code 0..3 is the state, anything else UNKNOWN;
the first line is the summary, further lines the long output, perfdata comes from the first
line and the long output.
"""

from __future__ import annotations

import signal
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from lookout.checks.active import CheckContext, Outcome
from lookout.domain import values
from lookout.domain.commands import (
    COMMAND_NAME_RE,
    MAX_ARGS,
    MAX_OUTPUT,
    Execution,
    arg_macros,
    host_macros,
)
from lookout.domain.metrics import Metric
from lookout.domain.perfdata import parse_perfdata, split_plugin_output
from lookout.errors import PerfdataError

Arg = Annotated[str, Field(max_length=4096)]


class NagiosParams(BaseModel):
    """Run the site's command ``command`` with ``args`` as ``$ARG1$``, ``$ARG2$``, …"""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["nagios"] = Field("nagios", description="Check type.")
    command: str = Field(
        pattern=COMMAND_NAME_RE, description="Name of a command definition of the site."
    )
    args: tuple[Arg, ...] = Field(
        (), max_length=MAX_ARGS, description="Values of $ARG1$, $ARG2$, … (one word each)."
    )
    timeout: float = Field(
        10.0, gt=0, le=300, description="Seconds before the plugin's process group is killed."
    )


async def run(params: NagiosParams, target_address: str, ctx: CheckContext) -> Outcome:
    """Run the command with the host's and the service's macros; see :func:`outcome_of`."""
    if ctx.commands is None:
        return Outcome(3, "UNKNOWN - this runner cannot run Nagios plugins")
    macros = {
        **host_macros(ctx.host, target_address),
        "SERVICEDESC": ctx.service,
        **arg_macros(params.args),
    }
    return outcome_of(await ctx.commands.run_command(params.command, macros, params.timeout))


def outcome_of(ex: Execution) -> Outcome:
    """The outcome of one plugin run (the plugin API's rules, plus the runner's refusals)."""
    output = _storable(ex.output)
    if ex.timed_out:
        return _unknown(f"{ex.program} {ex.error}", output, ex)
    if ex.error:
        return _unknown(ex.error, output, ex)
    if ex.signal is not None:
        return _unknown(f"{ex.program} was killed by signal {_signal_name(ex.signal)}", output, ex)
    summary, long_output, perf = split_plugin_output(output)
    if ex.exit_code not in (0, 1, 2, 3):
        text = f"{ex.program} exited with code {ex.exit_code}"
        return _unknown(f"{text}: {summary}" if summary else text, long_output, ex)
    if not summary and not long_output and not perf:
        return _unknown(f"{ex.program} printed no output (exit code {ex.exit_code})", "", ex)
    metrics, perf_error = _metrics(perf)
    notes = [long_output] if long_output else []
    if perf_error:
        notes.append(f"(perfdata ignored: {perf_error})")
    if ex.cut:
        notes.append(_cut_note())
    return Outcome(
        ex.exit_code,
        summary[: values.MAX_SUMMARY] or f"(no summary; exit code {ex.exit_code})",
        long_output="\n".join(notes)[: values.MAX_LONG_OUTPUT],
        metrics=metrics,
    )


def _metrics(perf: str) -> tuple[tuple[Metric, ...], str]:
    if not perf:
        return (), ""
    try:
        metrics = parse_perfdata(perf)
        values.check_metrics(metrics)
    except (PerfdataError, values.InvalidValue) as exc:
        return (), str(exc)
    return metrics, ""


def _unknown(summary: str, details: str, ex: Execution) -> Outcome:
    notes = [details.strip()] if details.strip() else []
    if ex.cut:
        notes.append(_cut_note())
    long_output = "\n".join(notes)[: values.MAX_LONG_OUTPUT]
    return Outcome(3, summary[: values.MAX_SUMMARY], long_output=long_output)


def _cut_note() -> str:
    return f"(output cut after {MAX_OUTPUT // 1024} KiB)"


def _storable(output: str) -> str:
    """Plugin output as storable text: NUL characters become U+FFFD."""
    return output.replace("\x00", "\ufffd") if "\x00" in output else output


def _signal_name(number: int) -> str:
    try:
        return f"{number} ({signal.Signals(number).name})"
    except ValueError:
        return str(number)
