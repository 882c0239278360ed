"""What every figure shares: colours, markers, panels, the log2 workers axis, saving.

Figures facet rather than overplot. A panel shows one workload config (the workload
and whatever varies with it); while it would hold at most ``MAX_CURVES`` curves the
panels wrap in a grid. Beyond that a panel is divided into side-by-side *blocks* on
one shared axis, one per start method (the executors without one, threads and the
like, repeat in every block as the reference) or, failing that, one per executor.
Blocks cost a fraction of what separate axes do, which keeps a 1,000-cell report
quick to draw.
"""

from __future__ import annotations

import functools
import io
import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

import numpy as np
import pandas as pd

from runner import files
from runner.collector import importing
from runner.core.executors import EXECUTORS
from runner.report.plots import kept
from runner.results.labels import PANEL, value_text

# matplotlib is imported where a figure is drawn, not with this module: a report whose figures
# are kept (plots/kept.py) draws none, and its import is a third of such a report's time
if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

MAX_CURVES = 6
DPI = 100
# Geometry in inches, fixed, so that saving needs no layout pass (tight layout lays
# out every label again, and costs more than the drawing).
PANEL_W, PANEL_H = 3.1, 2.2
BLOCK_W = 2.7
LEFT_IN, BOTTOM_IN, TOP_IN = 0.75, 0.6, 0.75
WSPACE_IN, HSPACE_IN = 0.5, 0.65
LEGEND_IN = 2.4
WRAP = 3
GAP = 0.9  # between blocks, in log2 units of the x axis
MAX_TICKS = 4  # labelled x ticks per block, where blocks share an axis
LOG_SPAN = 4.0  # a y range narrower than this factor stays linear
TITLE_EM = 0.62  # a title character's width in ems, at most, in DejaVu Sans: what decides where a title wraps
# Known executors keep their colour from one sweep to the next (the registry's order); others follow.
EXECUTOR_ORDER = list(EXECUTORS)
P = ParamSpec("P")
R = TypeVar("R")
MARKERS = {"": "o", "fork": "o", "forkserver": "^", "spawn": "s"}
SPARE_MARKERS = ["D", "v", "P", "X", "*"]


# seaborn's whitegrid theme at paper scale, as matplotlib ships it (importing seaborn itself
# imports scipy.stats, half of what a report costs: docs/overhead.md), on matplotlib's own
# defaults: a user's matplotlibrc, or style of the same name, changes no figure, so the same
# tables draw the same files
STYLES = ("seaborn-v0_8-whitegrid", "seaborn-v0_8-paper")
SETTINGS: dict[str, Any] = {
    "svg.fonttype": "none",  # text stays text: smaller files, quicker to write
    "svg.hashsalt": "concurrency-lab",  # the same data gives the same SVG
    # a fixed title height: automatic placement lays out every tick label again, per panel
    "axes.titley": 1.0,
}


@functools.cache
def matplotlib_ready() -> None:
    """Import what drawing and saving a figure need, once per process. The report calls it before
    its drawing processes fork, so that they inherit it."""
    with importing():
        import matplotlib.backends.backend_agg
        import matplotlib.backends.backend_svg
        import matplotlib.figure
        import matplotlib.style  # noqa: F401


def themed(draw: Callable[P, R]) -> Callable[P, R]:
    """A figure's ``draw``, in the figures' theme; what it changes of matplotlib's settings is
    restored after it (a notebook's own figures keep theirs)."""

    @functools.wraps(draw)
    def drawing(*args: P.args, **kwargs: P.kwargs) -> R:
        matplotlib_ready()
        import matplotlib
        import matplotlib.style

        shipped = Path(matplotlib.get_data_path()) / "stylelib"  # by path: not a user's stylelib/ of that name
        theme: list[str | Path | dict[str, Any]] = ["default", *(shipped / f"{n}.mplstyle" for n in STYLES), SETTINGS]
        with matplotlib.style.context(theme):
            return draw(*args, **kwargs)

    return drawing


def new_figure(width: float, height: float) -> Figure:
    """An empty figure of this size in inches."""
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height))


def executors(frame: pd.DataFrame) -> list[str]:
    present = set(frame["executor"])
    return [e for e in EXECUTOR_ORDER if e in present] + sorted(present - set(EXECUTOR_ORDER))


def colours(names: Sequence[str]) -> dict[str, Any]:
    import matplotlib

    tab10, dark2 = matplotlib.colormaps["tab10"].resampled(10), matplotlib.colormaps["Dark2"].resampled(8)
    palette = [tuple(c) for c in [*tab10(range(10)), *dark2(range(8))]]
    known = {name: palette[i] for i, name in enumerate(EXECUTOR_ORDER)}
    extra = iter(palette[len(EXECUTOR_ORDER) :] * (1 + len(names) // 8))
    return {name: known[name] if name in known else next(extra) for name in names}


def marker(method: str) -> str:
    if method in MARKERS:
        return MARKERS[method]
    return SPARE_MARKERS[sum(map(ord, method)) % len(SPARE_MARKERS)]


def _split_rows(part: pd.DataFrame, split: str | None) -> list[tuple[str, pd.DataFrame]]:
    if split is None:
        return [("", part)]
    if split == "executor":
        return [(e, part[part["executor"] == e]) for e in executors(part)]
    methods = sorted({m for m in part["start_method"] if m}) or [""]
    return [(f"start {m}" if m else "", part[part["start_method"].isin([m, ""])]) for m in methods]


def _curves(part: pd.DataFrame) -> int:
    return len(part[["executor", "start_method"]].drop_duplicates())


def choose_split(frame: pd.DataFrame) -> str | None:
    """None while every panel holds at most MAX_CURVES curves; else blocks by start
    method, else by executor."""
    parts = [p for _, p in frame.groupby(PANEL)]
    for split in (None, "start_method"):
        if all(_curves(rows) <= MAX_CURVES for p in parts for _, rows in _split_rows(p, split)):
            return split
    return "executor"


@dataclass
class AxisBlock:
    """One side-by-side part of a panel: its rows and where its x range starts."""

    label: str
    rows: pd.DataFrame
    offset: float
    base: float  # log2 of the smallest x value in the panel

    def x(self, values: Any) -> np.ndarray:
        return np.asarray(self.offset + np.log2(np.asarray(values, dtype=float)) - self.base)

    def dense(self, low: float, high: float, points: int = 40) -> tuple[np.ndarray, np.ndarray]:
        """Values from low to high (for model curves) and their x positions."""
        values = np.geomspace(low, high, points) if high > low else np.array([low])
        return values, self.x(values)


@dataclass
class Panel:
    ax: Axes
    label: str
    rows: pd.DataFrame
    blocks: list[AxisBlock]

    def finish(self, column: str = "workers") -> None:
        """Ticks at the values of ``column`` in each block (thinned to MAX_TICKS labels
        where blocks share the axis: every tick is costly to lay out), a faint line at every
        value, block names above and separators between."""
        ticks, labels, lines = [], [], []
        most = MAX_TICKS if len(self.blocks) > 1 else 2 * MAX_TICKS
        for block in self.blocks:
            values = sorted(block.rows[column].unique())
            every = math.ceil(len(values) / most)
            shown = values[::every]
            ticks += list(block.x(shown))
            labels += [value_text(int(v)) if float(v).is_integer() else value_text(v) for v in shown]
            lines += list(block.x(values))
        from matplotlib.ticker import MaxNLocator, NullLocator

        self.ax.set_xticks(ticks, labels)
        self.ax.xaxis.set_minor_locator(NullLocator())
        self.ax.grid(False, axis="x")
        self.ax.vlines(lines, 0, 1, transform=self.ax.get_xaxis_transform(), colors="0.92", lw=0.8, zorder=0)
        self.ax.set_xlim(min(lines) - 0.4, max(lines) + 0.4)
        if self.ax.get_yscale() == "linear":
            self.ax.yaxis.set_major_locator(MaxNLocator(nbins=4))
        if len(self.blocks) > 1:
            for block in self.blocks:
                span = block.x(sorted(block.rows[column].unique()))
                middle = (span.min() + span.max()) / 2
                self.ax.text(middle, 0.98, block.label, transform=self.ax.get_xaxis_transform(), ha="center", va="top")
            separators = [block.offset - GAP / 2 for block in self.blocks[1:]]
            self.ax.vlines(separators, 0, 1, transform=self.ax.get_xaxis_transform(), colors="0.7", lw=0.8)


def grid(
    frame: pd.DataFrame, split: str | None, sharey: bool = False, column: str = "workers"
) -> tuple[Figure, list[Panel]]:
    """A panel per PANEL value: wrapped in a grid while undivided, one per row when divided into blocks."""
    order = list(dict.fromkeys(frame.sort_values(["workload", PANEL])[PANEL]))
    by_panel = dict(tuple(frame.groupby(PANEL, sort=False)))
    nblocks = max(len(_split_rows(by_panel[p], split)) for p in order)
    ncols = 1 if nblocks > 1 else min(WRAP, len(order))
    nrows = math.ceil(len(order) / ncols)
    panel_w = PANEL_W if nblocks == 1 else BLOCK_W * nblocks
    width = LEFT_IN + ncols * panel_w + (ncols - 1) * WSPACE_IN + LEGEND_IN
    height = TOP_IN + nrows * PANEL_H + (nrows - 1) * HSPACE_IN + BOTTOM_IN
    fig = new_figure(width, height)
    axes = fig.subplots(nrows, ncols, squeeze=False, sharey=sharey)
    fig.subplots_adjust(
        left=LEFT_IN / width,
        right=(width - LEGEND_IN) / width,
        bottom=BOTTOM_IN / height,
        top=1 - TOP_IN / height,
        wspace=WSPACE_IN / panel_w,
        hspace=HSPACE_IN / PANEL_H,
    )
    for ax in axes.flat[len(order) :]:
        ax.set_visible(False)
    panels = []
    for ax, label in zip(axes.flat, order, strict=False):
        rows = by_panel[label]
        values = rows[column].to_numpy(dtype=float)
        base, width_log2 = math.log2(values.min()), max(math.log2(values.max() / values.min()), 1.0)
        blocks = [
            AxisBlock(name, part, i * (width_log2 + GAP), base)
            for i, (name, part) in enumerate(_split_rows(rows, split))
            if not part.empty
        ]
        ax.set_title(label, fontsize="medium", loc="left" if nblocks > 1 else "center")
        panels.append(Panel(ax, label, rows, blocks))
    return fig, panels


def curves(part: pd.DataFrame) -> Iterator[tuple[str, str, pd.DataFrame]]:
    """(executor, start method, rows) for each curve in a block; rows keep the order of
    ``with_panels``, which sorts them by workers."""
    for (executor, method), curve in part.groupby(["executor", "start_method"], sort=True):
        yield str(executor), str(method), curve


class Layer:
    """Curves, bands and points of a panel gathered into one collection each: a
    thousand-cell figure has thousands of them, and each separate artist costs more to
    create and draw than its pixels."""

    def __init__(self) -> None:
        self.lines: dict[Any, list[tuple[np.ndarray, Any]]] = {}
        self.bands: list[tuple[np.ndarray, Any]] = []
        self.points: dict[tuple[str, bool], list[tuple[np.ndarray, np.ndarray, Any]]] = {}  # (shape, hollow)

    def line(self, x: Any, y: Any, colour: Any, style: Any = "-", width: float = 1.4) -> None:
        xy = np.column_stack([np.asarray(x, dtype=float), np.asarray(y, dtype=float)])
        self.lines.setdefault((style, width), []).append((xy, colour))

    def band(self, x: Any, low: Any, high: Any, colour: Any) -> None:
        x, low, high = (np.asarray(v, dtype=float) for v in (x, low, high))
        self.bands.append((np.column_stack([np.r_[x, x[::-1]], np.r_[low, high[::-1]]]), colour))

    def markers(self, x: Any, y: Any, colour: Any, shape: str, hollow: bool = False) -> None:
        points = (np.asarray(x, dtype=float), np.asarray(y, dtype=float), colour)
        self.points.setdefault((shape, hollow), []).append(points)

    def curve(self, x: Any, y: Any, colour: Any, shape: str) -> None:
        self.line(x, y, colour)
        self.markers(x, y, colour, shape)

    def draw(self, ax: Axes, band_alpha: float = 0.15) -> None:
        from matplotlib.collections import LineCollection, PolyCollection

        # Data limits from the arrays at hand: a collection works its own out path by path.
        arrays = [p for p, _ in self.bands] + [xy for items in self.lines.values() for xy, _ in items]
        arrays += [np.column_stack([x, y]) for items in self.points.values() for x, y, _ in items]
        if arrays:
            stacked = np.concatenate(arrays)
            stacked = stacked[np.isfinite(stacked).all(axis=1)]
            if len(stacked):
                ax.update_datalim(stacked[[stacked[:, 0].argmin(), stacked[:, 0].argmax()]])
                ax.update_datalim(stacked[[stacked[:, 1].argmin(), stacked[:, 1].argmax()]])
        if self.bands:
            polys = [p for p, _ in self.bands]
            ax.add_collection(
                PolyCollection(polys, facecolors=[c for _, c in self.bands], alpha=band_alpha, linewidths=0),
                autolim=False,
            )
        for (style, width), segments in self.lines.items():
            ax.add_collection(
                LineCollection(
                    [xy for xy, _ in segments], colors=[c for _, c in segments], linestyles=style, linewidths=width
                ),
                autolim=False,
            )
        for (shape, hollow), points in self.points.items():
            xs = np.concatenate([x for x, _, _ in points])
            ys = np.concatenate([y for _, y, _ in points])
            colour = [c for x, _, c in points for _ in x]
            if hollow:
                ax.scatter(xs, ys, facecolors="white", edgecolors=colour, marker=shape, s=12, zorder=3)
            else:
                ax.scatter(xs, ys, c=colour, marker=shape, s=14, zorder=3, linewidths=0)
        ax.autoscale_view()


def oversubscribed(curve: pd.DataFrame) -> np.ndarray:
    """Which rows of a curve oversubscribed the CPUs (native threads x tasks in flight > cores)."""
    if "oversubscribed" not in curve:
        return np.zeros(len(curve), dtype=bool)
    column = curve["oversubscribed"]
    if column.dtype == bool:  # as read from a summary without gaps; text is the exception, and costly per curve
        return column.to_numpy()
    return column.astype(str).str.lower().eq("true").to_numpy()


def ring(ax: Axes, x: list[float], y: list[float]) -> None:
    """A red ring around the points of oversubscribed cells."""
    if x:
        ax.scatter(x, y, s=70, facecolors="none", edgecolors="firebrick", linewidths=1.2, zorder=4)


def ring_handle() -> Any:
    """The legend's entry for ``ring``."""
    from matplotlib.lines import Line2D

    return Line2D([], [], ls="", marker="o", ms=8, mfc="none", mec="firebrick", mew=1.2)


def log10_axis(ax: Axes, values: Any) -> bool:
    """A log y axis labelled with plain numbers (mathtext labels, 10^k, cost more to lay
    out than the rest of a figure); linear where the values span less than LOG_SPAN,
    which a log axis would label with one tick or none. True where it is a log axis."""
    from matplotlib.ticker import FuncFormatter, LogLocator, MaxNLocator, NullLocator

    finite = np.asarray(values, dtype=float)
    finite = finite[np.isfinite(finite) & (finite > 0)]
    if len(finite) == 0 or finite.max() / finite.min() < LOG_SPAN:
        ax.yaxis.set_major_locator(MaxNLocator(nbins=4))
        return False
    ax.set_yscale("log")
    ax.yaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    ax.yaxis.set_minor_locator(NullLocator())
    return True


def scale_words(logs: list[bool]) -> str:
    """How a y label names the scale of panels drawn with ``log10_axis``."""
    if all(logs):
        return "log"
    return "partly log" if any(logs) else "linear"


def label_axes(fig: Figure, panels: list[Panel], xlabel: str, ylabel: str) -> None:
    """Axis labels once per figure side, as FacetGrid does, without its layout pass; tick
    labels only under the bottom panel of a column whose panels share their ticks."""
    columns: dict[int, list[Axes]] = {}
    for panel in panels:
        spec = panel.ax.get_subplotspec()
        if spec is not None:
            columns.setdefault(spec.colspan.start, []).append(panel.ax)
    for axes in columns.values():
        if len({tuple(ax.get_xticks()) for ax in axes}) == 1:
            for ax in axes[:-1]:
                ax.tick_params(labelbottom=False)
    fig.supxlabel(xlabel, y=0.12 / fig.get_figheight())
    fig.supylabel(ylabel, x=0.15 / fig.get_figwidth())


def legend(fig: Figure, frame: pd.DataFrame, extra: Sequence[tuple[Any, str]] = ()) -> None:
    """One legend per figure: executors by colour, start methods by marker, then the figure's own lines."""
    from matplotlib.lines import Line2D

    names = executors(frame)
    colour = colours(names)
    handles: list[Any] = [Line2D([], [], color=colour[e], lw=2) for e in names]
    labels = [f"executor {e}" for e in names]
    methods = sorted({m for m in frame["start_method"] if m})
    handles += [Line2D([], [], color="0.3", marker=marker(m), lw=0) for m in methods]
    labels += [f"start {m}" for m in methods]
    for handle, label in extra:
        handles.append(handle)
        labels.append(label)
    right = fig.subplotpars.right
    fig.legend(
        handles, labels, loc="center left", bbox_to_anchor=(right + 0.1 / fig.get_figwidth(), 0.5), frameon=False
    )


def titled(fig: Figure, title: str) -> None:
    """The figure's title, on one line where it fits its width, else wrapped in a smaller size:
    a figure of one narrow panel is narrower than most titles, which would be cut at both sides."""
    import textwrap

    size, lines = "large", [title]
    if fig.get_figwidth() * 72 < len(title) * 12.0 * TITLE_EM:  # "large" is 12 points
        size, lines = "medium", textwrap.wrap(title, int(fig.get_figwidth() * 72 / (10.0 * TITLE_EM)))
    if len(lines) > 1:  # the figure grows above its panels by the lines the title adds, which stay where they were
        height, extra = fig.get_figheight(), (len(lines) - 1) * 10.0 * 1.2 / 72
        top, bottom = fig.subplotpars.top * height, fig.subplotpars.bottom * height
        fig.set_size_inches(fig.get_figwidth(), height + extra)
        fig.subplots_adjust(top=top / (height + extra), bottom=bottom / (height + extra))
    fig.suptitle("\n".join(lines), y=1 - 0.12 / fig.get_figheight(), fontsize=size)


def save(fig: Figure, path: Path, title: str) -> list[Path]:
    """The figure as PNG (for the reports) and SVG (for print); returns both paths."""
    titled(fig, title)
    written = []
    for suffix in (".png", ".svg"):
        target = path.with_suffix(suffix)
        # PNG: light compression; zlib's default level takes longer than drawing a small figure
        options = {"metadata": {"Date": None}} if suffix == ".svg" else {"pil_kwargs": {"compress_level": 1}}
        image = io.BytesIO()
        fig.savefig(image, format=suffix[1:], dpi=DPI, **options)
        files.write_bytes(target, image.getvalue())
        kept.saved(target, image.getvalue())
        written.append(target)
    return written
