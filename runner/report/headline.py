"""The answer first: what a sweep found, in sentences generated from its summary by fixed rules.

The report, report.md and the terminal open with these lines; the same rules write every
sweep's, so a reader who teaches can paste them into a slide and trust the numbers. Per
workload config (a panel, runner/results/labels.py), from the cells that were measured and
are possible (an impossible speedup is never quoted):

- *fastest*: the cell with the highest median speedup, its 95% interval, and whether it beat
  the serial baseline at all (by more than ``GAIN``);
- *threads*: whether a thread pool ran Python in parallel, judged by its parallelism (CPUs busy
  per wall second): at least ``PARALLEL`` is parallel, at most ``SERIAL`` is one CPU at a
  time, and a speedup with almost no CPU busy, or with one CPU busy and past twice that, is
  waiting that overlapped (with the count from which more threads stopped paying);
- *flattening*: the fewest workers from which the fastest executor's curve gains less than
  ``GAIN`` more, said with the machine's CPU count, and why where the cells show it (every
  task already in flight; more native threads than CPUs; ``BUSY`` of the CPUs busy);

then, per workload whose cells oversubscribed the CPUs (tasks in flight x native threads above
them), the slowest such cell with that arithmetic and what the same executor and workers ran
at with a native thread count that fitted; one line for the verdicts of the sweep's declared
claims; and one for its warnings.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from runner.claims.verdicts import Verdict
from runner.results.labels import PANEL, flag, flags, table_order, with_panels

GAIN = 1.10  # less than 10% faster is not "faster": within the noise of a shared machine
PARALLEL = 1.5  # CPUs busy at once: above this the pool ran in parallel
SERIAL = 1.2  # and at most this, one CPU at a time
WAITING = 0.5  # a speedup with fewer CPUs busy than this overlapped waiting, not computing
OVERLAPPED = 2.0  # a speedup this many times the CPUs busy came from waits in flight at once
BUSY = 0.8  # of the machine's CPUs busy: the CPUs, not the executor, set the limit


PLURAL = {"holds": "hold", "fails": "fail"}


def _executor(row: pd.Series) -> str:
    method = row["start_method"]
    return f"{row['executor']} ({method})" if isinstance(method, str) and method else str(row["executor"])


def _interval(row: pd.Series) -> str:
    return f"95% CI {row['speedup_ci_low']:.2f}-{row['speedup_ci_high']:.2f}"


def _workers(n: object) -> str:
    return f"{n} worker" + ("" if n == 1 else "s")


def _top(cells: pd.DataFrame, column: str) -> pd.Series:
    """The row with the highest value of ``column``."""
    return cells.sort_values(column, kind="stable").iloc[-1]


def measured(summary: pd.DataFrame) -> pd.DataFrame:
    """The cells a headline may quote: measured, with a speedup, and not impossible."""
    ok = (summary["status"] == "ok") & summary["speedup_median"].notna() & ~flags(summary, "impossible")
    return summary[ok]


def fastest(cells: pd.DataFrame) -> str:
    best = _top(cells, "speedup_median")
    if best["speedup_median"] < GAIN:
        return (
            f"nothing ran {GAIN - 1:.0%} faster than the serial baseline: the best, {_executor(best)} with "
            f"{_workers(best['workers'])}, "
            f"ran at {best['speedup_median']:.2f}x ({_interval(best)})"
        )
    limit = (
        f", at the limit of {best['speedup_limit']:g} that its tasks in flight and the CPUs permit (above it by less "
        "than the serial reference's noise)"
        if flag(best, "above_limit")
        else ""
    )
    return (
        f"fastest **{_executor(best)} with {_workers(best['workers'])}: {best['speedup_median']:.2f}x** "
        f"the serial speed ({_interval(best)}){limit}"
    )


def _overlapped(pool: pd.DataFrame, quickest: pd.Series, busy: float) -> str:
    """Threads whose waits overlapped, from which count more stopped paying, and, where a CPU
    was busy, that the Python between the waits ran one at a time."""
    knee = _within_reach(pool, quickest)
    said = f"threads overlapped waiting: {quickest['speedup_median']:.2f}x with {_workers(quickest['workers'])}"
    if knee is not None:
        said += f" (within 10% of that from {_workers(knee)} on)"
    if busy < WAITING:
        return f"{said} while at most {busy:.2f} CPUs were busy (the work waits; it does not compute)"
    return f"{said} while at most {busy:.2f} CPUs were busy, one at a time as under the GIL" + (
        ", which limits how many waits they keep in flight" if knee is not None else ""
    )


def threads(cells: pd.DataFrame, cores: int) -> str | None:
    pool = cells[(cells["executor"] == "thread") & cells["parallelism_median"].notna()]
    if pool.empty or pool["workers"].max() < 2:
        return None
    busiest = _top(pool, "parallelism_median")
    quickest = _top(pool, "speedup_median")
    busy, speedup = busiest["parallelism_median"], quickest["speedup_median"]
    # many waits in flight at once; where a CPU was busy, the Python between the waits ran one at a time
    if speedup >= GAIN and (busy < WAITING or (busy <= SERIAL and speedup > OVERLAPPED * busy)):
        return _overlapped(pool, quickest, busy)
    if busy < WAITING:  # waiting work that gained nothing: not the GIL's doing
        return f"threads gained nothing (best {speedup:.2f}x) and the work mostly waited: at most {busy:.2f} CPUs busy"
    if busy >= PARALLEL:
        return f"threads ran in parallel: up to {busy:.2f} of {cores} CPUs busy at once"
    if busy <= SERIAL:
        return (
            f"threads did not run in parallel: at most {busy:.2f} CPUs busy at once (best {speedup:.2f}x), "
            "as under the GIL"
        )
    return f"threads ran partly in parallel: up to {busy:.2f} of {cores} CPUs busy at once"


def _same_executor(cells: pd.DataFrame, row: pd.Series) -> pd.Series:
    """Which of ``cells`` ran ``row``'s executor with its start method."""
    method = row["start_method"] if isinstance(row["start_method"], str) else ""
    same: pd.Series = (cells["executor"] == row["executor"]) & (cells["start_method"].fillna("") == method)
    return same


def _flat_from(cells: pd.DataFrame) -> tuple[int, int] | None:
    """(the fewest workers from which no later count is ``GAIN`` faster, the most measured) of
    one executor's cells; None for fewer than two worker counts."""
    curve = _curve(cells)
    if len(curve) < 2:
        return None
    flat_from = next(int(w) for w in curve.index if (curve[curve.index > w] < curve[w] * GAIN).all())
    return flat_from, int(curve.index.max())


def _curve(cells: pd.DataFrame) -> pd.Series:
    """One executor's median speedup by worker count."""
    curve: pd.Series = cells.groupby("workers")["speedup_median"].median().sort_index()
    return curve


def _within_reach(cells: pd.DataFrame, best: pd.Series) -> int | None:
    """The fewest workers from which every count up to ``best``'s ran within ``GAIN`` of it,
    where that is fewer than ``best``'s: where more workers stopped paying."""
    curve = _curve(cells)
    curve = curve[curve.index <= best["workers"]]
    close = curve * GAIN >= best["speedup_median"]
    # the last count that fell short; the knee is the one after it
    short = [int(w) for w in curve.index[~close]]
    knee = int(curve.index[curve.index > max(short)].min()) if short else int(curve.index.min())
    return knee if knee < int(best["workers"]) else None


def flattening(cells: pd.DataFrame, cores: int) -> str | None:
    best = _top(cells, "speedup_median")
    same = _same_executor(cells, best)
    found = _flat_from(cells[same])
    if found is None or best["speedup_median"] < GAIN:
        return None
    flat_from, widest = found
    if flat_from == widest:
        return f"it still gained at {_workers(widest)}, the most measured"
    why = _why(cells[same], flat_from, cores)
    if flat_from == cores:
        return f"it gained nothing beyond {_workers(flat_from)}, the machine's {cores} CPUs ({widest} measured){why}"
    cpus = f"; the machine has {cores} CPUs" if widest > cores else ""
    return f"it gained nothing beyond {_workers(flat_from)} ({widest} measured{cpus}){why}"


def _why(curve: pd.DataFrame, flat_from: int, cores: int) -> str:
    """What the cells past the flattening point say limited them, where they say it."""
    past = curve[curve["workers"] >= flat_from]
    if (past["tasks"] <= flat_from).all():  # no more tasks than workers: none left to start
        return f": only {int(past['tasks'].max())} tasks to run at once"
    over = past[flags(past, "oversubscribed")]
    if not over.empty:
        return f": oversubscribed ({over.iloc[0]['oversubscription']})"
    busy = past["parallelism_median"].max()
    if busy >= BUSY * cores:
        return f": its CPUs were busy ({busy:.2f} of {cores})"
    return ""


def oversubscription(cells: pd.DataFrame) -> list[str]:
    """Per workload, the slowest cell whose native threads oversubscribed the CPUs, and the same
    pool's best speed where its native threads fitted: the cause, and the cure, in numbers."""
    out = []
    over = cells[flags(cells, "oversubscribed")]
    for _, part in over.groupby("workload", sort=False):
        worst = part.sort_values("speedup_median", kind="stable").iloc[0]
        more = f" (and {len(part) - 1} more cells)" if len(part) > 1 else ""
        text = (
            f"**{worst[PANEL]}**: {_executor(worst)} with {_workers(worst['workers'])} oversubscribed the CPUs, "
            f"{worst['oversubscription']}{more}, and ran at {worst['speedup_median']:.2f}x"
        )
        pool = _same_executor(cells, worst) & (cells["workload"] == worst["workload"])
        fitted = cells[pool & (cells["workers"] == worst["workers"]) & ~flags(cells, "oversubscribed")]
        if not fitted.empty:
            best = _top(fitted, "speedup_median")  # with_panels wrote its native_threads as text
            text += f"; with native_threads={best.get('native_threads', 'default')}, {best['speedup_median']:.2f}x"
        out.append(text + ".")
    return out


def verdict_line(found: Sequence[Verdict]) -> str:
    if not found:
        return "verdicts: no claims declared (an experiment states them under `expect:`)"
    tally = pd.Series([v.verdict for v in found]).value_counts()
    failing = [v.claim for v in found if v.verdict in ("fails", "refused")]
    named = f": {'; '.join(failing[:3])}" + (" ..." if len(failing) > 3 else "") if failing else ""
    said = [f"{n} {PLURAL.get(str(k), k) if n > 1 else k}" for k, n in tally.items()]
    return "verdicts: " + ", ".join(said) + named


def care_line(summary: pd.DataFrame) -> str | None:
    noisy, impossible = int(flags(summary, "noisy").sum()), int(flags(summary, "impossible").sum())
    failed = int((summary["status"] != "ok").sum())
    parts = [f"{n} {what}" for n, what in ((failed, "failed"), (impossible, "impossible"), (noisy, "noisy")) if n]
    if not parts:
        return None
    return f"read with care: {', '.join(parts)} of {len(summary)} cells (see Warnings)"


def _failed(cells: pd.DataFrame) -> str:
    """How ``cells`` ended where not ok, most common first: ``oom 2, error 1``."""
    counts = cells.loc[cells["status"] != "ok", "status"].value_counts()
    return ", ".join(f"{status} {n}" for status, n in counts.items())


def _nothing_to_quote(panel: pd.DataFrame) -> str:
    """Why a workload config has no speedup to quote: cells that failed, a baseline that failed,
    speedups that are impossible, or no pool in the sweep."""
    pools = panel[panel["executor"] != "serial"]
    baseline = panel[panel["executor"] == "serial"]
    if (panel["status"] != "ok").all():
        return f"nothing measured: every cell failed ({_failed(panel)}; see Warnings)"
    if not pools.empty and (baseline["status"] != "ok").any():
        return f"no speedup to quote: the serial baseline failed ({_failed(baseline)}; see Warnings)"
    if not pools.empty and (pools["status"] != "ok").all():
        return f"no pool measured: every one failed ({_failed(pools)}; see Warnings)"
    impossible = int(flags(pools, "impossible").sum())
    if impossible:
        return f"no speedup to quote: {impossible} of {len(pools)} cells' speedups are impossible (see Warnings)"
    return "nothing measured beyond the serial baseline"


def lines(summary: pd.DataFrame, cores: int, found: Sequence[Verdict]) -> list[str]:
    """The headline: a line per workload config, then the verdicts and what to doubt."""
    out = []
    panels = table_order(with_panels(summary))  # kib=64 before kib=1024, as in the tables
    computed = measured(panels[panels["executor"] != "serial"])
    for panel, part in panels.groupby(PANEL, sort=False):
        pools = part[part["executor"] != "serial"]
        cells = measured(pools)
        if cells.empty:
            out.append(f"**{panel}**: {_nothing_to_quote(part)}.")
            continue
        said = [fastest(cells), flattening(cells, cores), threads(cells, cores)]
        out.append(f"**{panel}**: " + "; ".join(s for s in said if s) + ".")
    out += oversubscription(computed)
    out.append(verdict_line(found) + ".")
    warned = care_line(summary)
    return [*out, warned + "."] if warned else out
