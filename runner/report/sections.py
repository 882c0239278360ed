"""Redraw a run's or sweep's report from its files: ``python -m runner.report DIR``.

Reads results.csv, tasks.csv, summary.csv, environment.json and Hydra's records
(runner/results/load.py, runner/results/hydra_records.py); never measures. Writes plots/*.png|svg,
fits.csv, report.md and a self-contained report.html at DIR.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from runner import files
from runner.claims import verdicts
from runner.claims.expression import Expr, ExprError
from runner.claims.verdicts import Verdict
from runner.exiting import Parser, print_error, writing
from runner.report import blocks as document
from runner.report import headline, plots
from runner.report import html_page as html
from runner.report import terminal as console
from runner.report.blocks import Block, Bullets, Code, Heading, Image, Para, Screen, Table
from runner.report.plots.figure import ReportFigure
from runner.results import fits
from runner.results.aggregate import write_csv
from runner.results.labels import (
    PANEL,
    VARYING,
    flag,
    param_columns,
    table_order,
    value_text,
    varies_within,
    with_panels,
)
from runner.results.load import DataError, Sweep, load
from runner.results.load import doubts as warnings

TITLE = "concurrency-lab report"
FOLD_ROWS = 40  # longer tables fold away in the HTML
SCREEN_LINES = 6  # answer lines (about two rows each) that still leave the first screen room for the figure
PEAK_IN_SIGHT = 4.0  # a USL peak further out than this many times the widest cell is not shown as a number
AXES = ["workload", "executor", "start_method", "workers", "tasks", "python", "gil", "fail_rate"]


@dataclass
class Report:
    root: Path
    sweep: Sweep
    fits: pd.DataFrame
    verdicts: list[Verdict]
    figures: dict[str, list[Path]]
    answer: list[str]  # the headline, as the report opens with it

    @property
    def refused(self) -> list[Verdict]:
        return [v for v in self.verdicts if v.verdict == verdicts.REFUSED]


def _num(value: Any, fmt: str = ".3g") -> str:
    if isinstance(value, str):  # a workload parameter may be a choice (algorithm=sha256)
        return value
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "∞" if isinstance(value, float) and math.isinf(value) else "-"
    return f"{value:{fmt}}"


def _ci(row: pd.Series, measure: str, fmt: str) -> str:
    median = row.get(f"{measure}_median")
    if median is None or pd.isna(median):
        return "-"
    return f"{median:{fmt}} [{row[f'{measure}_ci_low']:{fmt}}, {row[f'{measure}_ci_high']:{fmt}}]"


def _values(series: pd.Series) -> str:
    values = sorted(set(series.dropna()), key=lambda v: (str(type(v)), v))
    return ", ".join(f"{v:g}" if isinstance(v, float) else str(v) or "(none)" for v in values)


def _varies(summary: pd.DataFrame, axis: str) -> str:
    """ "yes" for an axis swept within a workload; a value each workload sets for itself (its task
    count, a parameter only one workload has) is not a swept axis."""
    if summary[axis].nunique() < 2:
        return ""
    if axis != "workload" and (summary.groupby("workload")[axis].nunique() < 2).all():
        return "with the workload"
    return "yes"


def swept(sweep: Sweep) -> list[Block]:
    summary = sweep.summary
    axes = [c for c in [*AXES, *param_columns(summary)] if c in summary]
    rows = [{"axis": axis, "values": _values(summary[axis]), "varies": _varies(summary, axis)} for axis in axes]
    ok = summary["status"] == "ok"
    counts = (
        f"**{len(summary)} cells**: {int(ok.sum())} measured, {int((~ok).sum())} failed, "
        f"{int((ok & ~summary['complete']).sum())} incomplete; {int(summary['expected'].max())} repetitions per "
        f"cell; {sweep.cores} cores."
    )
    blocks: list[Block] = [Heading("What was swept"), Para(counts), Table(pd.DataFrame(rows))]
    if sweep.recorded is not None:
        blocks += [Para("The command, as recorded by Hydra:"), Code(sweep.recorded.command())]
    return blocks


def verdict_blocks(found: list[Verdict]) -> list[Block]:
    blocks: list[Block] = [Heading("Verdicts")]
    if not found:
        return [
            *blocks,
            Para("No expectations declared. An experiment states its claims under `expect:` (see the README)."),
        ]
    frame = pd.DataFrame(
        [
            {
                "claim": v.claim,
                "verdict": v.verdict,
                "where": f"`{v.where}`",
                "check": f"`{v.check}`",
                "numbers behind it": v.numbers,
            }
            for v in found
        ]
    )
    tally = pd.Series([v.verdict for v in found]).value_counts()
    return [*blocks, Para(", ".join(f"{n} {k}" for k, n in tally.items()) + "."), Table(frame)]


def _r2(value: float) -> str:
    return f" (R² {value:.2f})" if math.isfinite(value) else ""


def _amdahl(r: pd.Series) -> str:
    """Amdahl's law for one curve, in words where its numbers would mislead."""
    if fits.flat(r):
        return "-"
    if not fits.amdahl_fits(r):
        return "poor fit" + _r2(r["amdahl_r2"])
    s, sight = r["amdahl_serial_fraction"], PEAK_IN_SIGHT * r["workers_max"]
    if s > 0 and 1 / s <= sight:
        limit = f"limit {1 / s:.3g}x"
    else:  # a limit above PEAK_IN_SIGHT x the most workers measured: nothing measured supports it
        limit = f"no limit in sight (above {sight:g}x, {PEAK_IN_SIGHT:g}x the most workers measured)"
    return f"s = {s:.3f}, {limit}" + _r2(r["amdahl_r2"])


def _usl(r: pd.Series) -> str:
    """USL for one curve; its peak only where it lies within sight of the cells measured."""
    if fits.flat(r):
        return "-"
    if not fits.usl_fits(r):
        return "poor fit" + _r2(r["usl_r2"])
    peak, widest = r["usl_peak_workers"], r["workers_max"]
    if not math.isfinite(peak) or peak > PEAK_IN_SIGHT * widest:
        where = f"no peak within {PEAK_IN_SIGHT:g}x the widest cell"
    elif peak <= 1:
        where = "falls from the first worker"
    else:
        extrapolated = " (extrapolated)" if peak > widest else ""
        where = f"peak {r['usl_peak_speedup']:.3g}x at {peak:.3g} workers{extrapolated}"
    return f"a = {r['usl_a']:.3g}, b = {r['usl_b']:.3g}, {where}" + _r2(r["usl_r2"])


def _shape(r: pd.Series) -> str:
    if fits.flat(r):
        return f"flat: at most {r['speedup_max']:.2f}x, no scaling for a law to describe"
    if not (fits.amdahl_fits(r) or fits.usl_fits(r)):
        return f"up to {r['speedup_max']:.2f}x; neither law fits its shape"
    return f"up to {r['speedup_max']:.2f}x"


def fit_blocks(fitted: pd.DataFrame) -> list[Block]:
    blocks: list[Block] = [
        Heading("Scaling fits"),
        Para(
            "Least-squares fits to the median speedups of each curve with at least "
            f"{fits.MIN_POINTS} worker counts. Amdahl: S(N) = 1 / (s + (1 - s) / N), serial fraction s, limit 1/s. "
            "USL: C(N) = N / (1 + a (N - 1) + b N (N - 1)), contention a, coherency b, peak at N* = "
            f"sqrt((1 - a) / b). A law is shown only where it means something: the curve scales (its best median "
            f"reaches {fits.FLAT_SPEEDUP:g}x) and the law is not a **poor fit**, one that misses the medians by more "
            f"than {fits.POOR_RMSE:.0%} (RMS, relative) or explains less than {fits.POOR_R2:.0%} of their variation "
            f"while missing by more than {fits.NOISE_RMSE:.0%}. A limit or peak further out than {PEAK_IN_SIGHT:g}x "
            "the widest cell is not quoted: nothing measured supports it."
        ),
    ]
    if fitted.empty:
        return [*blocks, Para("No curve has enough worker counts to fit.")]
    rows = []
    # besides its parameters, a curve names what tells it from the workload's other curves
    varying = {workload: varies_within(part, VARYING) for workload, part in fitted.groupby("workload")}
    for _, r in fitted.iterrows():
        method = f"/{r['start_method']}" if r["start_method"] else ""
        params = ", ".join(
            [f"{c.removeprefix('workload.')}={_num(r[c], 'g')}" for c in param_columns(fitted) if pd.notna(r[c])]
            + [f"{k}={value_text(r[k])}" for k in varying[r["workload"]]]
        )
        rows.append(
            {
                "curve": f"{r['workload']}{f' ({params})' if params else ''} · {r['executor']}{method}",
                "points": int(r["points"]),
                "shape": _shape(r),
                "Amdahl": _amdahl(r),
                "USL": _usl(r),
            }
        )
    frame = pd.DataFrame(rows)
    fold = f"{len(frame)} curves (click to show)" if len(frame) > FOLD_ROWS else None
    return [*blocks, Table(frame, fold=fold), Para("Every fitted number, unrounded: `fits.csv`.")]


def summary_blocks(summary: pd.DataFrame) -> list[Block]:
    rows = []
    for _, r in summary.iterrows():
        marks = [str(r["status"])] if r["status"] != "ok" else []
        marks += ["incomplete"] if r["status"] == "ok" and not r["complete"] else []
        marks += ["IMPOSSIBLE speedup"] if flag(r, "impossible") else []
        marks += ["speedup at the limit"] if flag(r, "above_limit") else []
        marks += ["noisy"] if r["noisy"] else []
        marks += ["oversubscribed"] if flag(r, "oversubscribed") else []
        marks += ["imprecise"] if pd.notna(r.get("precision_met")) and not r["precision_met"] else []
        marks += [f"{int(r['errors'])} task errors"] if r.get("errors") else []
        rows.append(
            {
                "workload": r[PANEL],
                "executor": r["executor"],
                "start": r["start_method"],
                "workers": int(r["workers"]),
                "n": f"{int(r['n'])}/{int(r['expected'])}",
                "wall s [95% CI]": _ci(r, "wall_s", ".4f"),
                "speedup [95% CI]": ("impossible: " if flag(r, "impossible") else "") + _ci(r, "speedup", ".2f"),
                "parallelism": _num(r.get("parallelism_median"), ".2f"),
                # the speedup's number stays beside its flag (the warnings say why); its quotient is no number
                "efficiency": "impossible" if flag(r, "impossible") else _num(r.get("efficiency_median"), ".2f"),
                "start-up ms": _num(r.get("startup_s_median", np.nan) * 1000, ".3g"),
                "cv": "-" if pd.isna(r["cv"]) else f"{r['cv']:.1%}",
                "flags": ", ".join(marks),
            }
        )
    frame = pd.DataFrame(rows)
    fold = f"{len(frame)} cells (click to show)" if len(frame) > FOLD_ROWS else None
    return [
        Heading("Summary"),
        Para("One row per cell: medians over the repetitions with bootstrap 95% confidence intervals."),
        Table(frame, fold=fold),
    ]


def environment_blocks(sweep: Sweep) -> list[Block]:
    env = sweep.environment
    if not env:
        return [Heading("Environment"), Para("environment.json is missing: the machine is unknown.")]
    gil = "enabled" if env.get("gil", True) else "disabled"
    build = "free-threaded build" if env.get("free_threaded_build") else "default (GIL) build"
    packages = ", ".join(f"{k} {v}" for k, v in (env.get("packages") or {}).items() if v)
    revision = env.get("git_revision") or "unknown"
    items = [
        f"Python {env.get('python', '?')} ({env.get('implementation', '?')}, {build}, GIL {gil}), "
        f"build {' '.join(map(str, env.get('python_build') or []))}",
        f"CPU: {env.get('cpu_model', '?')}; {env.get('cpu_count', '?')} logical CPUs, "
        f"{sweep.cores} usable (affinity); memory {env.get('memory_gib', '?')} GiB",
        f"load average (1, 5, 15 min) before: {_load(env.get('load_before'))}; after: {_load(env.get('load_after'))}",
        f"platform: {env.get('platform', '?')}",
        f"packages: {packages}",
        f"git revision: `{revision}`" + (" (with uncommitted changes)" if env.get("git_dirty") else ""),
    ]
    return [Heading("Environment"), Bullets(items)]


def _load(values: Any) -> str:
    return ", ".join(f"{v:.2f}" for v in values) if values else "?"


def reproduce_blocks(sweep: Sweep) -> list[Block]:
    blocks: list[Block] = [Heading("Reproduce")]
    lines = []
    revision = sweep.environment.get("git_revision")
    if revision:
        lines.append(f"git checkout {revision}")
    if sweep.recorded is not None:
        lines.append(sweep.recorded.command())
    if lines:
        blocks += [Para("The same sweep, measured again into a new directory:"), Code("\n".join(lines))]
    blocks += [
        Para("or, with exactly the recorded overrides, into a directory beside this one, then compared with it:"),
        Code(f"python -m runner.replay {sweep.root}\npython -m runner.compare {sweep.root} {sweep.root}-replay"),
        Para("This report, redrawn from the files: `python -m runner.report " + str(sweep.root) + "`."),
    ]
    return blocks


def _figure(figure: ReportFigure, sweep: Sweep, files: list[Path], caption: bool = True) -> Image:
    png = files[0]
    svg = png.with_suffix(".svg").relative_to(sweep.root).as_posix()
    said = f"{figure.caption_for(sweep)} (Vector version: `{svg}`.)" if caption else ""
    return Image(png.relative_to(sweep.root), figure.title, said)


def answer_blocks(answer: list[str], figures: dict[str, list[Path]], sweep: Sweep) -> list[Block]:
    """What the sweep found, then the figure that shows it, on the report's first screen; the
    figure's caption follows below it."""
    lead = plots.FIGURES[0]
    if lead.name not in figures or len(answer) > SCREEN_LINES:  # no figure, or no room for it beside the answer
        blocks: list[Block] = [Heading("The answer"), Bullets(answer)]
        if lead.name in figures:
            blocks.append(_figure(lead, sweep, figures[lead.name]))
        return blocks
    image = _figure(lead, sweep, figures[lead.name], caption=False)
    return [
        Screen([Heading("The answer"), Bullets(answer), image]),
        Para(f"**{lead.title}.** {_figure(lead, sweep, figures[lead.name]).caption}"),
    ]


def figure_blocks(figures: dict[str, list[Path]], sweep: Sweep) -> list[Block]:
    """Every figure but the first, which leads the report beside the answer."""
    blocks: list[Block] = [Heading("Figures")]
    if plots.FIGURES[0].name in figures:
        blocks.append(Para(f"{plots.FIGURES[0].title}: at the top, with the answer."))
    for figure in plots.FIGURES[1:]:
        if figure.name in figures:
            blocks += [Heading(figure.title, 3), _figure(figure, sweep, figures[figure.name])]
    if len(blocks) == 1:
        blocks.append(Para("Nothing measured to draw."))
    return blocks


def timeline_cells(sweep: Sweep, where: str | None) -> list[str] | None:
    """The cells whose timelines to draw: those a `where` expression selects, or the default."""
    if where is None:
        return None
    from runner.claims import expectations as expect

    try:
        selected = Expr(where, expect.names(sweep.params)).evaluate(verdicts.columns(sweep.summary, sweep.cores))
    except ExprError as exc:
        raise DataError(f"--timeline: {exc}") from None
    cells = list(sweep.summary.loc[np.broadcast_to(np.asarray(selected, dtype=bool), len(sweep.summary)), "cell"])
    if not cells:
        raise DataError(f"--timeline: no cell matches {where!r}")
    return cells


def render(root: Path, timeline: str | None = None) -> Report:
    """Draw every figure and write fits.csv, report.md and report.html; DataError if the files are not a sweep."""
    sweep = load(root)
    if sweep.summary.empty:
        raise DataError(f"{root}: results.csv holds no cells")
    cells = timeline_cells(sweep, timeline)
    if files.leads_out(root, root / "plots"):  # a received directory's link would take the figures elsewhere
        raise DataError(f"plots: a symbolic link out of {root}; the report writes only inside it: remove the link")
    # the figures draw in worker processes while this one judges, tables and renders the text
    with plots.Painter(sweep, cells, root / "plots") as painter:
        found = verdicts.evaluate(sweep)
        rest: list[Block] = [
            *summary_blocks(table_order(with_panels(sweep.summary))),
            *environment_blocks(sweep),
            *reproduce_blocks(sweep),
        ]
        rest_md, rest_html = document.markdown(rest), html.fragment(rest, root)
        fitted = painter.fits()
        write_csv(fitted, root / "fits.csv")
        doubts = warnings(sweep, fitted)
        figures = painter.results()
    doubts += [f"figure {name} could not be drawn ({why})" for name, why in painter.failed.items()]
    answer = headline.lines(sweep.summary, sweep.cores, found)
    head: list[Block] = [
        *answer_blocks(answer, figures, sweep),
        Para(f"Sweep `{root}`: every number here is read from its files; `python -m runner.report` redraws it."),
        *swept(sweep),
        *verdict_blocks(found),
        Heading("Warnings"),
        Bullets(doubts or ["none: no failed, incomplete or noisy cells, and a quiet machine"]),
        *figure_blocks(figures, sweep),
        *fit_blocks(fitted),
    ]
    files.write_text(root / "report.md", document.markdown_page(TITLE, [document.markdown(head), rest_md]))
    files.write_text(root / "report.html", html.page(TITLE, [html.fragment(head, root), rest_html]))
    return Report(root, sweep, fitted, found, figures, answer)


def main(argv: list[str]) -> int:
    """``argv`` as in ``sys.argv``: the program's name, then its arguments."""
    parser = Parser(argv[0], __doc__)
    parser.add_argument("dir", type=Path, help="a run or sweep directory")
    parser.add_argument(
        "--timeline",
        metavar="EXPR",
        help="cells to draw task timelines for, as an expect-style expression, e.g. \"executor == 'thread'\" "
        "(default: the widest cell of each executor)",
    )
    args = parser.parse_args(argv[1:])
    try:
        with writing():
            report = render(args.dir, args.timeline)
    except DataError as exc:
        print_error(f"{exc}")
        return 2
    console.print_answer(console.wide_console(), report.answer)
    console.print_verdicts(report.verdicts)
    print(f"report: {args.dir / 'report.html'}")
    for refused in report.refused:
        print_error(f"{refused.numbers}")
    return 2 if report.refused else 0
