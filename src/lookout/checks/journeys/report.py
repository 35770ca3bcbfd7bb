"""One journey run → one service result: the worst step's state, a summary, a step-by-step
long output and the timings as metrics (``step_1_log_in`` seconds …, ``total``)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from lookout.checks.journeys.evaluate import CRIT, OK, UNKNOWN, WARN
from lookout.domain.metrics import Metric
from lookout.domain.perfdata import format_perfdata
from lookout.domain.states import state_name
from lookout.domain.values import MAX_LONG_OUTPUT, MAX_SUMMARY

MARKS = {OK: "✔", WARN: "!", CRIT: "✘", UNKNOWN: "?"}
SKIPPED = "–"


@dataclass(frozen=True, slots=True)
class StepOutcome:
    """What became of one step; ``state`` None means it was skipped (an earlier step failed).
    ``warn``/``crit`` are its time levels, drawn on the metric."""

    number: int
    name: str
    kind: str  # "http" or "browser"
    state: int | None
    seconds: float = 0.0
    reason: str = ""
    detail: str = ""  # e.g. "GET https://shop/login → 200", or where a screenshot went
    warn: float | None = None
    crit: float | None = None

    @property
    def failed(self) -> bool:
        return self.state is not None and self.state >= CRIT


@dataclass(frozen=True, slots=True)
class JourneyResult:
    name: str
    state: int
    summary: str
    long_output: str
    metrics: tuple[Metric, ...]
    steps: tuple[StepOutcome, ...]
    seconds: float

    def plugin_output(self) -> str:
        """Nagios plugin text: ``summary | perfdata`` then the long output."""
        first = self.summary
        perf = format_perfdata(self.metrics)
        if perf:
            first += " | " + perf
        return first + ("\n" + self.long_output if self.long_output else "")


def metric_name(number: int, name: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")[:60]
    return f"step_{number}_{slug}" if slug else f"step_{number}"


def summarize(name: str, steps: Sequence[StepOutcome], seconds: float) -> JourneyResult:
    ran = [s for s in steps if s.state is not None]
    state = max((s.state for s in ran if s.state is not None), default=UNKNOWN)
    bad = [s for s in ran if s.state != OK]
    if not bad:
        count = "1 step" if len(steps) == 1 else f"all {len(steps)} steps"
        summary = f"{name}: {count} OK in {seconds:.2f} s"
    else:
        worst = next(s for s in bad if s.state == state)
        label = state_name(state, is_host=False)
        where = f"step {worst.number} {worst.name!r}" if worst.number else "the start"
        summary = f"{name}: {label} at {where}: {worst.reason}"
        if len(bad) > 1:
            summary += f" (and {len(bad) - 1} more)"
        skipped = len(steps) - len(ran)
        if skipped:
            summary += f"; {skipped} step{'s' if skipped > 1 else ''} skipped"
    metrics = (
        *(
            Metric(
                name=metric_name(s.number, s.name),
                value=round(s.seconds, 6),
                unit="s",
                warn=s.warn,
                crit=s.crit,
                min=0.0,
            )
            for s in ran
            if s.kind != "setup"
        ),
        Metric(name="total", value=round(seconds, 6), unit="s", min=0.0),
    )
    return JourneyResult(
        name=name,
        state=state,
        summary=_clip(summary, MAX_SUMMARY),
        long_output=_clip("\n".join(step_line(s) for s in steps), MAX_LONG_OUTPUT),
        metrics=metrics,
        steps=tuple(steps),
        seconds=seconds,
    )


def _clip(text: str, limit: int) -> str:
    """Within what a site stores (its results route refuses longer texts)."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def step_line(s: StepOutcome) -> str:
    if s.state is None:
        return f"{SKIPPED} {s.number}. {s.name}: skipped"
    line = f"{MARKS[s.state]} {s.number}. {s.name} ({s.kind}, {s.seconds:.3f} s)"
    if s.reason:
        line += f": {s.reason}"
    if s.detail:
        line += f" [{s.detail}]"
    return line
