"""The ``expect:`` list of a config: its names, and its validation.

Standard library only: the sweep validates every job's expectations before any cell
runs (runner/sweep/callbacks.py) and the report validates them again when it reads them
from the recorded config (runner/claims/verdicts.py evaluates them).

An expectation is evaluated against the cells of ``summary.csv``: ``where`` selects
cells, ``check`` must hold for every selected cell that was measured. The names an
expression may use are ``NAMES`` below; a measure's bare name means its median over
the repetitions (``speedup`` is ``speedup_median``), and the names are the columns of
``runner.load(DIR).summary`` (a workload parameter is ``workload.<name>`` there too).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from runner.claims.expression import Expr, ExprError

# name -> what it means; the report and the README document these.
NAMES: dict[str, str] = {
    "workload": "workload name (string)",
    "executor": "executor name (string)",
    "start_method": "start method, '' where it means nothing (threads, serial)",
    "workers": "worker count",
    "tasks": "tasks per repetition",
    "in_flight": "tasks in flight: min(workers, tasks)",
    "cores": "logical CPUs the sweep could use (affinity); with SMT on, two of them share a physical core",
    "physical_cores": "physical cores of the machine (environment.json); cores where unknown",
    "python": "Python version (string, e.g. '3.12.3')",
    "gil": "True where the GIL was enabled",
    "fail_rate": "fraction of tasks made to fail",
    "wall_s": "median task-phase wall time, s",
    "speedup": "median speedup vs the serial baseline",
    "parallelism": "median CPU seconds per wall second",
    "efficiency": "median speedup / workers",
    "startup_s": "median pool start-up time, s",
    "throughput": "median tasks per second",
    "cpu_s": "median CPU seconds of all tasks",
    "peak_rss_mb": "median peak resident memory of the cell's processes, MB",
    "process_cpu_s": "median CPU seconds of every process that ran tasks, all threads",
    "outside_cpu_share": "median share of that CPU outside the task threads (native pools, the pool's machinery)",
    "native_threads": "the native_threads setting (string: '1', 'auto'; '' where unset)",
    "native_threads_used": "native threads per task in flight: the limit set, else the largest pool seen",
    "oversubscribed": "True where tasks in flight x native threads exceed the cores",
    "wall_s_ci_low": "lower end of the 95% CI of wall_s",
    "wall_s_ci_high": "upper end of the 95% CI of wall_s",
    "speedup_ci_low": "lower end of the 95% CI of speedup",
    "speedup_ci_high": "upper end of the 95% CI of speedup",
    "parallelism_ci_low": "lower end of the 95% CI of parallelism",
    "parallelism_ci_high": "upper end of the 95% CI of parallelism",
    "n": "repetitions measured",
    "cv": "coefficient of variation of wall_s",
    "noisy": "True where the cell was flagged noisy",
    "impossible": "True where the cell's own accounting rules its speedup out (not judged on speedup, efficiency)",
    "errors": "failed tasks over all repetitions",
    "complete": "True where every repetition is in results.csv",
}
# the measures a bare name means the median of; ``speedup_median``, summary.csv's name, is a name too
MEDIANS = tuple(name for name, meaning in NAMES.items() if meaning.startswith("median "))
# workload parameter `kib` is `workload.kib`, its column in results.csv, summary.csv and runner.load;
# `param_kib` is its old spelling, still read (verdicts.py says so where a claim uses it)
PARAM_COLUMN = "workload."
PARAM_PREFIX = "param_"


@dataclass(frozen=True)
class Expectation:
    index: int
    claim: str
    where: Expr
    check: Expr


class AnyParam(frozenset[str]):
    """NAMES, and any ``workload.<name>`` or ``param_<name>``: before a sweep runs, one job cannot
    know the parameters of the other jobs' workloads, which the expressions may well name."""

    def __contains__(self, name: object) -> bool:
        return super().__contains__(name) or (isinstance(name, str) and name.startswith((PARAM_COLUMN, PARAM_PREFIX)))


def names(params: Iterable[str] | None = ()) -> frozenset[str]:
    """Every name an expression may use, given the workload parameters in play (None: any)."""
    fixed = {*NAMES, *(f"{name}_median" for name in MEDIANS)}
    if params is None:
        return AnyParam(fixed)
    return frozenset(fixed) | {prefix + p for p in params for prefix in (PARAM_COLUMN, PARAM_PREFIX)}


def parse_one(index: int, item: Mapping[str, Any], allowed: frozenset[str]) -> Expectation:
    """One ``expect`` item; ExprError names the item and the key (``expect[0].where: ...``)."""
    if not isinstance(item, Mapping):
        raise ExprError(f"expect[{index}]: expected a mapping with claim, where, check; got {item!r}")
    exprs = {}
    for key in ("where", "check"):
        source = item.get(key, "True" if key == "where" else None)
        try:
            exprs[key] = Expr(source, allowed)
        except ExprError as exc:
            raise ExprError(f"expect[{index}].{key}: {exc}") from None
    return Expectation(index, str(item.get("claim") or f"expect[{index}]"), exprs["where"], exprs["check"])


def parse(items: Iterable[Mapping[str, Any]], params: Iterable[str] | None = ()) -> list[Expectation]:
    """Parse and whitelist every ``expect`` item; the first bad one raises ExprError."""
    allowed = names(params)
    return [parse_one(index, item, allowed) for index, item in enumerate(items)]
