"""PromQL check: evaluate an expression on a Prometheus and judge the value(s).

An instant query (``GET /api/v1/query``). A scalar is one value; a vector is one value per
series. Each value is judged against ``levels`` (upper: warn, crit) and ``levels_lower`` (lower:
warn, crit); the service takes the worst series' state, the summary names that series with its
labels (and how many others are not OK), the long output lists every series, and every series
is a metric named by its labels. No series at all is ``if_empty`` (UNKNOWN by default: a
mistyped metric name returns nothing too; use OK for alert-style expressions such as
``up == 0``).

With ``per_series`` each series becomes a service of its own (the site makes them, see
``sites/series.py``): the check's own service then says how many series there are and is
UNKNOWN only when Prometheus cannot answer, so a problem is told once, by its series.
"""

from __future__ import annotations

import math
from typing import Any, Literal

import httpx
from pydantic import Field, field_validator

from lookout.checks.active import (
    ActiveParams,
    CheckContext,
    Outcome,
    SeriesOutcome,
    describe_error,
    label,
)
from lookout.domain import values
from lookout.domain.metrics import Metric

STATES = {"OK": 0, "WARN": 1, "CRIT": 2, "UNKNOWN": 3}
SEVERITY = (0, 1, 3, 2)
"""Order of badness (OK < WARN < UNKNOWN < CRIT), as Nagios ranks them."""
Levels = tuple[float, float]


class PromqlParams(ActiveParams):
    """Evaluate ``query`` on the Prometheus at ``url``; WARN/CRIT by the value's levels."""

    type: Literal["promql"] = Field("promql", description="Check type.")
    url: str = Field(
        pattern=r"^https?://[^\s/]+", description="Prometheus base URL, e.g. http://prom:9090."
    )
    query: str = Field(min_length=1, max_length=4096, description="A PromQL expression.")
    levels: Levels | None = Field(
        None, description="Upper levels [warn, crit]: WARN/CRIT when a value is at or above."
    )
    levels_lower: Levels | None = Field(
        None, description="Lower levels [warn, crit]: WARN/CRIT when a value is below."
    )
    if_empty: Literal["OK", "WARN", "CRIT", "UNKNOWN"] = Field(
        "UNKNOWN", description="State when the query returns no series."
    )
    unit: str = Field("", max_length=32, description="Unit of the values (for the metrics).")
    verify_tls: bool = Field(True, description="Verify the server's certificate.")
    per_series: bool = Field(
        False,
        description="One service per series (named by its labels, on the same host), "
        "judged on its own; a series no longer returned gets the if_empty state.",
    )
    max_series: int = Field(
        500, ge=1, le=5000, description="Most series services one check keeps (per_series)."
    )

    @field_validator("levels")
    @classmethod
    def _upper(cls, v: Levels | None) -> Levels | None:
        if v is not None and v[1] < v[0]:
            raise ValueError(f"crit ({v[1]:g}) must not be below warn ({v[0]:g})")
        return v

    @field_validator("levels_lower")
    @classmethod
    def _lower(cls, v: Levels | None) -> Levels | None:
        if v is not None and v[1] > v[0]:
            raise ValueError(f"crit ({v[1]:g}) must not be above warn ({v[0]:g})")
        return v


class QueryFailed(Exception):
    """Prometheus could not be asked, or refused the query."""


async def run(params: PromqlParams, target_address: str, ctx: CheckContext) -> Outcome:
    """Query once; UNKNOWN when Prometheus cannot answer (the problem is not the value's)."""
    try:
        series = await _query(params, ctx)
    except QueryFailed as exc:
        return Outcome(state=3, summary=f"PromQL UNKNOWN - {exc}")
    return judge(params, series)


async def _query(params: PromqlParams, ctx: CheckContext) -> list[tuple[dict[str, str], float]]:
    url = params.url.rstrip("/") + "/api/v1/query"
    try:
        resp = await ctx.client(params.verify_tls).get(
            url, params={"query": params.query}, timeout=params.timeout
        )
    except httpx.HTTPError as exc:
        raise QueryFailed(f"{describe_error(exc)} ({url})") from exc
    try:
        body = resp.json()
    except ValueError:
        raise QueryFailed(f"{url} answered {resp.status_code}, not JSON") from None
    if not isinstance(body, dict) or body.get("status") != "success":
        error = body.get("error") if isinstance(body, dict) else None
        raise QueryFailed(f"Prometheus: {error or resp.status_code}")
    return _series(body.get("data") or {})


def _series(data: dict[str, Any]) -> list[tuple[dict[str, str], float]]:
    kind, result = data.get("resultType"), data.get("result")
    if kind == "scalar" and isinstance(result, list):
        return [({}, _number(result))]
    if kind == "vector" and isinstance(result, list):
        return [(dict(item.get("metric") or {}), _number(item.get("value"))) for item in result]
    raise QueryFailed(f"the query returns a {kind}: use an expression giving a scalar or vector")


def _number(sample: Any) -> float:
    try:
        return float(sample[1])
    except (TypeError, ValueError, IndexError):
        raise QueryFailed(f"not a sample: {sample!r}") from None


def series_name(labels: dict[str, str]) -> str:
    """``name{a="1", b="2"}`` as Prometheus writes a series (``{}`` for none)."""
    name = labels.get("__name__", "")
    rest = ", ".join(f'{k}="{v}"' for k, v in sorted(labels.items()) if k != "__name__")
    return f"{name}{{{rest}}}" if rest or not name else name


def state_of(value: float, params: PromqlParams) -> int:
    if math.isnan(value):
        return 3
    up, low = params.levels, params.levels_lower
    if (up is not None and value >= up[1]) or (low is not None and value < low[1]):
        return 2
    if (up is not None and value >= up[0]) or (low is not None and value < low[0]):
        return 1
    return 0


def metric_name(labels: dict[str, str]) -> str:
    """A perfdata-safe name for a series (no ``=`` or quotes): ``name instance:a job:b``."""
    parts = [labels.get("__name__", "")]
    parts += [f"{k}:{v}" for k, v in sorted(labels.items()) if k != "__name__"]
    name = " ".join(p for p in parts if p).replace("=", ":").replace("'", "")
    return name[: values.MAX_NAME] or "value"


def judge(params: PromqlParams, series: list[tuple[dict[str, str], float]]) -> Outcome:
    if params.per_series:
        return split(params, series)
    if not series:
        state = STATES[params.if_empty]
        return Outcome(state=state, summary=f"PromQL {label(state)} - no series for the query")
    judged = sorted(
        ((state_of(v, params), labels, v) for labels, v in series),
        key=lambda j: SEVERITY[j[0]],
        reverse=True,
    )
    state, labels, value = judged[0]
    bad = sum(1 for s, _, _ in judged[1:] if s != 0)
    summary = f"PromQL {label(state)} - {series_name(labels)} = {value:g}{params.unit}"
    if len(judged) > 1:
        summary += f" ({len(judged)} series" + (f", {bad} more not OK)" if bad else ")")
    long_output = "\n".join(
        f"{label(s)}: {series_name(ls)} = {v:g}{params.unit}" for s, ls, v in judged
    )
    return Outcome(
        state,
        summary[: values.MAX_SUMMARY],
        long_output[: values.MAX_LONG_OUTPUT],
        _metrics(params, judged),
    )


def _metrics(
    params: PromqlParams, judged: list[tuple[int, dict[str, str], float]]
) -> tuple[Metric, ...]:
    warn = params.levels[0] if params.levels else None
    crit = params.levels[1] if params.levels else None
    out: dict[str, Metric] = {}
    for _, labels, v in judged:
        name = metric_name(labels)
        if math.isfinite(v) and abs(v) <= values.NUMBER_MAX and len(out) < values.MAX_METRICS:
            out.setdefault(name, Metric(name, v, params.unit, warn, crit))
    return tuple(out[k] for k in sorted(out))


def split(params: PromqlParams, series: list[tuple[dict[str, str], float]]) -> Outcome:
    """One outcome per series (the first ``max_series`` by name); the check's own service is
    OK and counts them."""
    ordered = sorted(series, key=lambda item: series_name(item[0]))
    kept = ordered[: params.max_series]
    outcomes = tuple(_series_outcome(params, labels, value) for labels, value in kept)
    counts = [sum(1 for o in outcomes if o.state == s) for s in range(4)]
    summary = f"PromQL OK - {len(outcomes)} series" + "".join(
        f", {n} {label(s)}" for s, n in enumerate(counts) if s and n
    )
    if len(ordered) > len(kept):
        summary += f"; {len(ordered) - len(kept)} more not kept (max_series {params.max_series})"
    if not ordered:
        summary = f"PromQL OK - no series (each series service is {params.if_empty})"
    long_output = "\n".join(f"{label(o.state)}: {o.summary}" for o in outcomes if o.state)
    return Outcome(0, summary, long_output[: values.MAX_LONG_OUTPUT], series=outcomes)


def _series_outcome(params: PromqlParams, labels: dict[str, str], value: float) -> SeriesOutcome:
    state = state_of(value, params)
    text = f"PromQL {label(state)} - {series_name(labels)} = {value:g}{params.unit}"
    metrics: tuple[Metric, ...] = ()
    if math.isfinite(value) and abs(value) <= values.NUMBER_MAX:
        warn, crit = params.levels if params.levels else (None, None)
        name = labels.get("__name__", "")[: values.MAX_NAME] or "value"
        metrics = (Metric(name, value, params.unit, warn, crit),)
    pairs = tuple(sorted(labels.items()))
    return SeriesOutcome(pairs, state, text[: values.MAX_SUMMARY], metrics)
