"""Verdicts: each ``expect:`` item of the recorded config, evaluated against summary.csv.

``where`` selects cells, ``check`` must hold for every selected cell that has the
numbers it reads. A claim *holds* when it does, *fails* when some cell breaks it (the
report names them), is *not measured* when no measured cell matches, and is *refused*
when its expression is not one the lab evaluates (runner/claims/expression.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from runner.claims import expectations as expect
from runner.claims.expression import Expr, ExprError
from runner.results.labels import flags, label, native_setting, param_columns, with_panels
from runner.results.load import Sweep

HOLDS, FAILS, NOT_MEASURED, REFUSED = "holds", "fails", "not measured", "refused"
SHOWN_FAILURES = 3
# The names whose value divides by the serial reference: where a cell's speedup is impossible,
# these are what is wrong with it. Its parallelism, wall time and CPU are its own, and judged.
FROM_SPEEDUP = frozenset(
    {"speedup", "speedup_median", "speedup_ci_low", "speedup_ci_high", "efficiency", "efficiency_median"}
)


@dataclass(frozen=True)
class Verdict:
    index: int
    claim: str
    where: str
    check: str
    verdict: str
    cells: int
    numbers: str


def columns(summary: pd.DataFrame, cores: int, physical_cores: int | None = None) -> dict[str, Any]:
    """The names of runner.claims.expectations.NAMES bound to summary columns (a measure's median)."""
    bound: dict[str, Any] = {"cores": cores, "physical_cores": physical_cores or cores}
    for name in expect.NAMES:
        for column in (f"{name}_median", name):
            if column in summary:
                bound[name] = summary[column]
                break
    for name in expect.MEDIANS:
        if name in bound:
            bound[f"{name}_median"] = bound[name]
    for column in ("workload", "executor", "start_method", "python"):
        if column in summary:
            bound[column] = summary[column].fillna("").astype(str)
    if "native_threads" in summary:  # read back from CSV as numbers where no cell says auto
        bound["native_threads"] = summary["native_threads"].map(native_setting)
    if "gil" in summary:
        bound["gil"] = summary["gil"].astype(str).str.lower() == "true"
    for column in param_columns(summary):
        bound[column] = bound[expect.PARAM_PREFIX + column.removeprefix(expect.PARAM_COLUMN)] = summary[column]
    return bound


def _rows(value: Any, length: int) -> np.ndarray:
    """An expression's result as one boolean per cell (a constant applies to all)."""
    array = np.asarray(value, dtype=bool)
    return np.full(length, bool(array)) if array.ndim == 0 else array


def _numbers(selected: pd.DataFrame, failing: pd.DataFrame, check: Expr, bound: dict[str, Any]) -> str:
    parts = []
    for name in sorted(check.names):
        column = bound[name]
        if not isinstance(column, pd.Series):
            continue
        values = column.loc[selected.index]
        if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
            low, high = f"{values.min():.3g}", f"{values.max():.3g}"
            parts.append(f"{name} {low}" if low == high else f"{name} {low} to {high}")
    text = f"{len(selected)} cell(s): " + ", ".join(parts) if parts else f"{len(selected)} cell(s)"
    if not failing.empty:
        shown: list[str] = []
        first = failing.head(SHOWN_FAILURES)
        for (index, row), over in zip(first.iterrows(), flags(first, "oversubscribed"), strict=True):
            numbers = ", ".join(
                f"{n}={bound[n].loc[index]:.3g}"
                for n in sorted(check.names)
                if isinstance(bound[n], pd.Series) and pd.api.types.is_float_dtype(bound[n])
            )
            if over:  # the cause, where the cell has one
                numbers = ", ".join(filter(None, [numbers, f"oversubscribed: {row['oversubscription']}"]))
            shown.append(f"{label(row)} ({numbers})" if numbers else label(row))
        more = f" and {len(failing) - SHOWN_FAILURES} more" if len(failing) > SHOWN_FAILURES else ""
        text += f"; breaks in {len(failing)}: " + "; ".join(shown) + more
    incomplete = int((~selected["complete"]).sum()) if "complete" in selected else 0
    if incomplete:
        text += f"; {incomplete} incomplete cell(s) among them"
    return text


def _old_names(parsed: expect.Expectation) -> str:
    """The deprecation notice of a claim that names a parameter by its old spelling."""
    old = sorted(n for n in parsed.where.names | parsed.check.names if n.startswith(expect.PARAM_PREFIX))
    new = [expect.PARAM_COLUMN + n.removeprefix(expect.PARAM_PREFIX) for n in old]
    return (
        f"; {', '.join(old)}: the old spelling of {', '.join(new)}, which a later release will require" if old else ""
    )


def judge(
    summary: pd.DataFrame,
    item: Any,
    index: int,
    allowed: frozenset[str],
    cores: int,
    *,
    physical_cores: int | None = None,
) -> Verdict:
    fields = item if isinstance(item, dict) else {}
    where_src, check_src = str(fields.get("where", "True")), str(fields.get("check"))
    claim = str(fields.get("claim") or f"expect[{index}]")
    try:
        parsed = expect.parse_one(index, item, allowed)
        bound = columns(summary, cores, physical_cores)
        where = _rows(parsed.where.evaluate(bound), len(summary))
        check = _rows(parsed.check.evaluate(bound), len(summary))
    except ExprError as exc:
        return Verdict(index, claim, where_src, check_src, REFUSED, 0, str(exc))
    measured = where & (summary["status"] == "ok").to_numpy() & (summary["n"] > 0).to_numpy()
    for name in parsed.check.names:  # a cell lacking a number the check reads cannot be judged by it
        if isinstance(bound[name], pd.Series):
            measured &= bound[name].notna().to_numpy()
    # a speedup its own accounting rules out is a measurement error, not evidence either way,
    # for a claim that reads it; the cell's own measures are sound and judged
    reads_speedup = bool((parsed.where.names | parsed.check.names) & FROM_SPEEDUP)
    impossible = measured & flags(summary, "impossible").to_numpy() & reads_speedup
    measured &= ~impossible
    selected = summary[measured]
    left_out = f"; {int(impossible.sum())} cell(s) with an impossible value not judged" if impossible.any() else ""
    if selected.empty:
        unmeasured = int(where.sum())
        why = f"{unmeasured} matching cell(s), none measured" if unmeasured else "no cell matches `where`"
        return Verdict(index, claim, where_src, check_src, NOT_MEASURED, 0, why + left_out)
    # named with every swept value that tells them apart, which the whole summary knows
    failing = with_panels(summary).loc[summary.index[measured & ~check]]
    numbers = _numbers(selected, failing, parsed.check, bound) + left_out + _old_names(parsed)
    return Verdict(index, claim, where_src, check_src, FAILS if len(failing) else HOLDS, len(selected), numbers)


def evaluate(sweep: Sweep) -> list[Verdict]:
    """A verdict for each expectation recorded with the sweep."""
    items = sweep.recorded.expect if sweep.recorded else []
    if not items or sweep.summary.empty:
        return []
    allowed = expect.names(sweep.params)
    physical = sweep.environment.get("physical_cores")
    return [
        judge(sweep.summary, item, index, allowed, sweep.cores, physical_cores=physical)
        for index, item in enumerate(items)
    ]


def table(verdicts: list[Verdict]) -> pd.DataFrame:
    return pd.DataFrame(
        [{"claim": v.claim, "verdict": v.verdict, "cells": v.cells, "numbers behind it": v.numbers} for v in verdicts]
    )
