"""The report, from a sweep's files alone: figures, fits, verdicts, both documents, bad input."""

from __future__ import annotations

import itertools
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from benchmarks.synthetic import make_sweep
from runner.paths import PROJECT_ROOT
from runner.report import sections as report
from runner.results.load import DataError, load
from tests.conftest import small_design

FIGURES = ["speedup", "concurrency_parallelism", "efficiency", "startup", "timeline", "latency"]


def report_cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "runner.report", *args], capture_output=True, text=True, env=env, timeout=120
    )


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> report.Report:
    items = [
        {
            "claim": "threads do not speed up CPU work",
            "where": "workload == 'cpu' and executor == 'thread'",
            "check": "speedup < 1.2",
        },
    ]
    root = make_sweep(tmp_path_factory.mktemp("r") / "sweep", small_design(expect=items))
    return report.render(root)


def test_every_figure_is_drawn_as_png_and_svg(rendered: report.Report) -> None:
    for name in FIGURES:
        for suffix in (".png", ".svg"):
            path = rendered.root / "plots" / f"{name}{suffix}"
            assert path.stat().st_size > 1000, path
    svg = (rendered.root / "plots" / "speedup.svg").read_text()
    assert "workers (log2 scale)" in svg and "Amdahl fit" in svg  # labelled axes, text kept as text


def test_fits_are_tabulated_for_curves_with_three_worker_counts(rendered: report.Report) -> None:
    fits = pd.read_csv(rendered.root / "fits.csv")
    # thread and process (x2 start methods) per workload have 1, 2, 4 workers; serial has one point
    assert len(fits) == 2 * 3
    assert set(fits["executor"]) == {"thread", "process"}
    assert ((fits["amdahl_serial_fraction"] >= 0) & (fits["amdahl_serial_fraction"] <= 1)).all()
    assert (fits[["usl_a", "usl_b"]] >= 0).all().all()
    sleep = fits[(fits["workload"] == "sleep") & (fits["executor"] == "thread")].iloc[0]
    assert sleep["amdahl_serial_fraction"] < 0.05 and not sleep["usl_poor"]  # sleeping threads scale


def test_the_markdown_report_has_every_section(rendered: report.Report) -> None:
    text = (rendered.root / "report.md").read_text()
    for heading in (
        "## What was swept",
        "## Verdicts",
        "## Warnings",
        "## Figures",
        "## Scaling fits",
        "## Summary",
        "## Environment",
        "## Reproduce",
    ):
        assert heading in text, heading
    assert "| threads do not speed up CPU work | holds |" in text
    assert "python -m runner -m " in text and "git checkout " + "0" * 40 in text
    for name in FIGURES:
        assert f"](plots/{name}.png)" in text


def test_the_html_report_embeds_every_figure_and_loads_nothing(rendered: report.Report) -> None:
    page = (rendered.root / "report.html").read_text()
    assert len(re.findall(r'<img src="data:image/png;base64,', page)) == len(FIGURES)
    assert not re.search(r"""(src|href)=["']?(https?:|//)""", page)
    assert '<td class="holds">holds</td>' in page


def test_a_removed_row_marks_its_cell_incomplete_and_the_report_still_renders(synthetic: Path) -> None:
    results = pd.read_csv(synthetic / "results.csv")
    victim = results[(results["executor"] == "thread") & (results["workers"] == 2)].index[0]
    results.drop(index=victim).to_csv(synthetic / "results.csv", index=False)
    cell = results.loc[victim, "cell"]
    written = report.render(synthetic)
    row = written.sweep.summary.set_index("cell").loc[cell]
    assert not row["complete"] and row["n"] == 2 and row["expected"] == 3
    text = (synthetic / "report.md").read_text()
    assert f"cell {cell} (" in text and "is incomplete: 2 of 3 repetitions" in text
    assert "| 2/3 |" in text and "incomplete" in text
    assert (synthetic / "plots" / "efficiency.png").exists()


def test_a_cell_gone_from_results_csv_is_reported_without_numbers(synthetic: Path) -> None:
    results = pd.read_csv(synthetic / "results.csv")
    cell = results[(results["executor"] == "process") & (results["workers"] == 4)]["cell"].iloc[0]
    results[results["cell"] != cell].to_csv(synthetic / "results.csv", index=False)
    row = load(synthetic).summary.set_index("cell").loc[cell]
    assert row["n"] == 0 and not row["complete"] and np.isnan(row["speedup_median"])
    report.render(synthetic)


def _garbage(root: Path) -> None:
    (root / "results.csv").write_bytes(b"\x00\xff\xfe garbage\n\x00")


def _columns_missing(root: Path) -> None:
    (root / "results.csv").write_text("cell,workload\nabc,cpu\n")


def _words_for_numbers(root: Path) -> None:
    pd.read_csv(root / "results.csv").assign(wall_s="fast").to_csv(root / "results.csv", index=False)


def _emptied(root: Path) -> None:
    (root / "results.csv").write_bytes(b"")  # summary.csv is left as it was: it no longer describes results


def _negative_wall(root: Path) -> None:
    pd.read_csv(root / "results.csv").assign(wall_s=-1.0).to_csv(root / "results.csv", index=False)


def _no_workers(root: Path) -> None:
    results = pd.read_csv(root / "results.csv")
    results.loc[0, "workers"] = np.nan
    results.to_csv(root / "results.csv", index=False)


def _two_configurations(root: Path) -> None:
    results = pd.read_csv(root / "results.csv")
    first = results.index[results["cell"] == results.loc[1, "cell"]][0]
    results.loc[first, "tasks"] = results.loc[first, "tasks"] + 1
    results.to_csv(root / "results.csv", index=False)


def _environment_of_the_wrong_type(root: Path) -> None:
    (root / "environment.json").write_text('{"cpu_count": "many", "cpu_affinity": 5}')


def _affinity_of_words(root: Path) -> None:
    (root / "environment.json").write_text('{"cpu_affinity": ["a"], "packages": [1]}')


def _words_for_other_programs(root: Path) -> None:
    pd.read_csv(root / "results.csv").assign(others_cpu_s="x").to_csv(root / "results.csv", index=False)


def _broken_json(root: Path) -> None:
    (root / "environment.json").write_text("{not json")


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (_garbage, "results.csv"),
        (_columns_missing, "results.csv: missing column 'executor'"),
        (_words_for_numbers, "results.csv: column 'wall_s' holds 'fast' on line 2; expected a number"),
        (_broken_json, "environment.json: not readable JSON"),
        (_emptied, "results.csv holds no cells"),
        (_negative_wall, "results.csv: column 'wall_s' holds -1 on line 2; expected a finite number above 0"),
        (_no_workers, "results.csv: column 'workers' holds nan on line 2; expected a whole number of at least 1"),
        (_two_configurations, "has rows with different workers or tasks; expected one configuration"),
        (_environment_of_the_wrong_type, "environment.json: cpu_count is 'many'; expected a whole number"),
        (_affinity_of_words, "environment.json: cpu_affinity is ['a']; expected a list of CPU numbers"),
        (_words_for_other_programs, "results.csv: column 'others_cpu_s' holds 'x' on line 2; expected a number"),
    ],
)
def test_corrupt_files_are_one_clear_error(synthetic: Path, damage: Callable[[Path], None], message: str) -> None:
    damage(synthetic)
    proc = report_cli(str(synthetic))
    assert proc.returncode == 2
    assert proc.stderr.startswith("error: ") and message in proc.stderr, proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr
    assert not (synthetic / "report.html").exists()


@pytest.mark.parametrize(
    ("damage", "why"),
    [
        (lambda f: f.drop(columns=["speedup_median"]), "lacks column 'speedup_median'"),
        (lambda f: f.assign(cv="wide"), "column 'cv' holds 'wide'"),
        (lambda f: pd.concat([f, f.iloc[:1]]), "disagrees with results.csv"),
        (lambda f: f.assign(errors="x"), "column 'errors' holds 'x'"),
        (lambda f: f.assign(above_limit="maybe"), "column 'above_limit' holds 'maybe'; expected True or False"),
    ],
    ids=["a column gone", "text for a number", "a cell twice", "text for a count", "a flag neither true nor false"],
)
def test_a_damaged_summary_is_made_again_from_results(
    synthetic: Path, damage: Callable[[pd.DataFrame], pd.DataFrame], why: str
) -> None:
    kept = load(synthetic).summary
    damage(pd.read_csv(synthetic / "summary.csv")).to_csv(synthetic / "summary.csv", index=False)
    sweep = load(synthetic)
    assert any(why in p and "summarised again from results.csv" in p for p in sweep.problems), sweep.problems
    columns = ["cell", "speedup_median", "cv"]
    pd.testing.assert_frame_equal(
        sweep.summary[columns].sort_values("cell").reset_index(drop=True),
        kept[columns].sort_values("cell").reset_index(drop=True),
    )
    assert report_cli(str(synthetic)).returncode == 0


def test_a_report_it_cannot_write_is_one_line_and_exit_1(synthetic: Path) -> None:
    (synthetic / "report.md").mkdir()  # a folder where the report goes: nothing to overwrite, no traceback
    proc = report_cli(str(synthetic))
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    said = proc.stderr.strip().splitlines()
    assert said == [f"error: output: cannot write {synthetic / 'report.md'}: Is a directory"]
    assert (synthetic / "report.md").is_dir()


def test_a_directory_that_is_not_a_sweep_is_one_clear_error(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("")
    cases = (
        (tmp_path / "nope", "no such directory"),
        (tmp_path / "a-file", "not a directory"),
        (tmp_path, "no results"),
    )
    for target, message in cases:
        proc = report_cli(str(target))
        assert proc.returncode == 2 and message in proc.stderr and "Traceback" not in proc.stderr


def test_a_refused_expectation_is_reported_and_fails_the_command(synthetic: Path) -> None:
    recorded = (synthetic / "multirun.yaml").read_text()
    (synthetic / "multirun.yaml").write_text(recorded.replace("check: speedup < 1.2", "check: __import__('os') == 1"))
    proc = report_cli(str(synthetic))
    assert proc.returncode == 2
    assert "error: expect[0].check: \"__import__('os')\" is a call" in proc.stderr
    assert "| refused |" in (synthetic / "report.md").read_text()


def test_timelines_follow_a_chosen_expression(synthetic: Path) -> None:
    proc = report_cli(str(synthetic), "--timeline", "executor == 'thread' and workers == 2")
    assert proc.returncode == 0, proc.stderr
    proc = report_cli(str(synthetic), "--timeline", "executor.upper()")
    assert proc.returncode == 2 and proc.stderr.startswith("error: --timeline: ")
    with pytest.raises(DataError, match="no cell matches"):
        report.timeline_cells(load(synthetic), "workers > 1000")


def test_runner_load_gives_the_tidy_tables_and_loads_pandas_only_then(synthetic: Path) -> None:
    probe = (
        "import sys, runner; before = 'pandas' in sys.modules; "
        f"s = runner.load({str(synthetic)!r}); "
        "print(before, len(s.results), len(s.tasks), len(s.summary), s.cores)"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=PROJECT_ROOT, check=True)
    before, results, tasks, summary, cores = out.stdout.split()
    assert before == "False"
    assert int(results) == 3 * int(summary) and int(tasks) == 8 * int(results) and cores == "2"


def test_report_redraw_needs_no_cell_files(synthetic: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(synthetic, copy)
    assert not (copy / "cells").exists()
    assert report_cli(str(copy)).returncode == 0
    assert (copy / "report.html").stat().st_size > 10_000


CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    # without these Chromium reaches for the network, which this machine refuses
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Appended to a copy of the page: once everything has loaded, write what loaded into the DOM.
PROBE = """<script>
window.addEventListener("load", () => {
  const images = Array.from(document.images);
  const loaded = images.filter((i) => i.complete && i.naturalWidth > 0).length;
  const marker = document.createElement("div");
  marker.id = "lab-check";
  marker.textContent = `images=${images.length} loaded=${loaded} text=${document.body.innerText.trim().length}`;
  document.body.appendChild(marker);
});
</script>"""


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    if os.environ.get("CI") or os.environ.get("LAB_REQUIRE_CHROMIUM"):
        pytest.fail("chromium is not installed; .ci/run installs it (apt-get install -y chromium)")
    pytest.skip("chromium is not installed here (CI installs it and runs this test)")


def _dom(root: Path, probe: str, tmp_path: Path, *flags: str) -> str:
    """report.html with a probe script appended, as headless Chromium leaves its DOM once loaded."""
    page = tmp_path / f"check{len(list(tmp_path.glob('check*')))}.html"
    page.write_text((root / "report.html").read_text().replace("</body>", probe + "</body>"))
    browser = [chromium(), *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}", *flags]
    dom = subprocess.run(
        [*browser, "--virtual-time-budget=10000", "--dump-dom", page.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
    )
    return dom.stdout + dom.stderr[-2000:]


def test_report_html_renders_in_headless_chromium(rendered: report.Report, tmp_path: Path) -> None:
    dom = _dom(rendered.root, PROBE, tmp_path)
    flags = [chromium(), *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}"]
    found = re.search(r'id="lab-check">images=(\d+) loaded=(\d+) text=(\d+)<', dom)
    assert found, dom
    images, loaded, text = map(int, found.groups())
    assert images == len(FIGURES) and loaded == images
    assert text > 2000  # the tables and captions are there, not an empty page
    shot = tmp_path / "shot.png"
    subprocess.run(
        [*flags, "--window-size=1280,2000", f"--screenshot={shot}", (rendered.root / "report.html").as_uri()],
        capture_output=True,
        timeout=120,
    )
    from PIL import Image

    pixels = np.asarray(Image.open(shot).convert("L"))
    assert (pixels < 200).mean() > 0.008, "the screenshot is (nearly) blank"  # a blank page shows only its title


# Where the answer and the first figure land on a 1280x800 screen, once the images have loaded.
FIRST_SCREEN_PROBE = """<script>
window.addEventListener("load", () => {
  const heading = document.getElementById("the-answer");
  const answer = heading.nextElementSibling;
  const image = document.querySelector("figure img");
  const box = (e) => e.getBoundingClientRect();
  const marker = document.createElement("div");
  marker.id = "lab-screen";
  marker.textContent = `viewport=${window.innerWidth}x${window.innerHeight} answer=${box(heading).top},` +
    `${box(answer).bottom} figure=${box(image).top},${box(image).bottom},${box(image).width} ` +
    `loaded=${image.complete && image.naturalWidth > 0} lead=${image.closest("section").className}`;
  document.body.appendChild(marker);
});
</script>"""


def test_the_answer_and_the_first_figure_fill_the_first_screen(rendered: report.Report, tmp_path: Path) -> None:
    dom = _dom(rendered.root, FIRST_SCREEN_PROBE, tmp_path, "--window-size=1280,800")
    found = re.search(
        r'id="lab-screen">viewport=(\d+)x(\d+) answer=([\d.]+),([\d.]+) figure=([\d.]+),([\d.]+),([\d.]+) '
        r"loaded=(\w+) lead=([\w-]*)<",
        dom,
    )
    assert found, dom
    width, height = int(found[1]), int(found[2])
    answer_top, answer_bottom, figure_top, figure_bottom, figure_width = map(float, found.groups()[2:7])
    assert width == 1280 and 600 <= height <= 800  # the window less its frame, as on a laptop
    assert found[8] == "true" and found[9] == "first-screen"  # the speedup figure, loaded, is the page's first
    assert answer_top < answer_bottom <= figure_top < figure_bottom <= height, found[0]
    assert figure_width > 400 and figure_bottom - figure_top > 200  # readable, not shrunk to a thumbnail
    assert "fastest" in (rendered.root / "report.html").read_text().split('id="the-answer"')[1][:2000]


def test_a_figure_that_fails_is_a_warning_not_a_lost_report(synthetic: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from runner.report.plots import latency

    def broken(*args: object) -> list[Path]:
        raise RuntimeError("boom")

    monkeypatch.setattr(latency, "draw", broken)  # inherited by the forked workers too
    written = report.render(synthetic)
    assert "latency" not in written.figures and "speedup" in written.figures
    assert "figure latency could not be drawn (RuntimeError: boom)" in (synthetic / "report.md").read_text()


def test_a_workload_choice_parameter_reaches_the_fits_table(tmp_path: Path) -> None:
    """gil_release's algorithm=sha256 is a string parameter: the fits table must print it, not format it."""
    from benchmarks.synthetic import make_sweep
    from tests.conftest import small_design

    design = small_design(workloads=[("gil_release", {"algorithm": "sha256", "kib": 64})])
    root = make_sweep(tmp_path / "sweep", design)
    written = report.render(root)
    assert not written.fits.empty
    assert "algorithm=sha256" in (root / "report.md").read_text()


def test_a_report_that_breaks_fails_the_sweep_loudly_and_keeps_the_data(
    synthetic: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Hydra turns an exception in on_multirun_end into a warning and exit 0; the lab must not."""
    from runner.sweep import finishing

    def broken(root: Path) -> None:
        raise RuntimeError("a figure library broke")

    monkeypatch.setattr(report, "render", broken)
    before = (synthetic / "summary.csv").stat().st_size
    with pytest.raises(SystemExit) as stopped:
        finishing.summarize(synthetic)
    assert stopped.value.code == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: report: RuntimeError: a figure library broke")
    assert "RuntimeError" in (synthetic / "report-error.txt").read_text()
    assert (synthetic / "summary.csv").stat().st_size >= before > 0


def test_a_newer_schema_is_refused_and_an_unversioned_file_is_read(synthetic: Path) -> None:
    from runner.results.load import DataError, load

    results = pd.read_csv(synthetic / "results.csv")
    results.drop(columns=["schema"]).to_csv(synthetic / "results.csv", index=False)
    assert len(load(synthetic).summary) > 0  # before versioning: read as v1
    results.assign(schema=2).to_csv(synthetic / "results.csv", index=False)
    with pytest.raises(DataError, match=r"^results.csv: written with tidy schema v2, newer than this lab reads"):
        load(synthetic)


# A sweep of one cell of microsecond tasks: figures one narrow panel wide, whose titles are
# wider than they are, and latencies whose ticks in milliseconds would be 0.00315.
ONE_CELL = {"workloads": [("tiny", {"n": 1})], "executors": ["serial", "thread"], "workers": [4], "task_s": 3e-6}


@pytest.mark.parametrize("design", [{}, ONE_CELL], ids=["small", "one-cell"])
def test_no_figure_label_overlaps_a_tick_label_or_leaves_the_figure(
    design: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each figure's texts, its title among them, measured by matplotlib's own renderer just before saving."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.transforms import Bbox

    from runner.report import plots
    from runner.report.plots import common

    synthetic = make_sweep(tmp_path / "sweep", small_design(**design))
    checked: list[str] = []
    save = common.save

    def measured(fig: Figure, path: Path, title: str) -> list[Path]:
        common.titled(fig, title)
        canvas = FigureCanvasAgg(fig)  # the renderer savefig uses for a PNG
        canvas.draw()  # texts take their final places when drawn
        renderer = canvas.get_renderer()
        whole = fig.bbox
        labels = [t for t in fig.texts if t.get_text()] + [
            t for ax in fig.axes for t in (ax.xaxis.label, ax.yaxis.label, ax.title) if t.get_text()
        ]
        ticks = [  # those drawn: a locator also labels ticks beyond the axis' limits, which are not
            t
            for ax in fig.axes
            for t, at, (low, high) in [
                *((t, t.get_position()[0], sorted(ax.get_xlim())) for t in ax.get_xticklabels()),
                *((t, t.get_position()[1], sorted(ax.get_ylim())) for t in ax.get_yticklabels()),
            ]
            if t.get_visible() and t.get_text() and low <= at <= high
        ]
        for label in labels:
            box = label.get_window_extent(renderer)
            if not label.get_visible() or box.height == 0:  # an axis the figure hides
                continue
            inside = box.x0 >= whole.x0 - 1 and box.x1 <= whole.x1 + 1 and box.y0 >= whole.y0 - 1
            assert Bbox.intersection(box, whole) is not None and inside and box.y1 <= whole.y1 + 1, (
                path.name,
                label.get_text(),
                "leaves the figure",
            )
            for tick in ticks:
                assert not box.overlaps(tick.get_window_extent(renderer)), (
                    path.name,
                    label.get_text(),
                    tick.get_text(),
                )
        shown = [t for t in labels if t.get_visible() and t.get_window_extent(renderer).height > 0]
        for one, other in itertools.combinations(shown, 2):  # a title over a panel's title, say
            overlap = one.get_window_extent(renderer).overlaps(other.get_window_extent(renderer))
            assert not overlap, (path.name, one.get_text(), other.get_text())
        checked.append(path.stem)
        return save(fig, path, title)

    monkeypatch.setattr(common, "save", measured)
    sweep = load(synthetic)
    with plots.Painter(sweep, None, synthetic / "plots", processes=1) as painter:
        drawn = painter.results()
    assert not painter.failed and set(drawn) == set(FIGURES) and set(checked) >= set(FIGURES)


def _caption(rendered: report.Report, title: str) -> str:
    text = (rendered.root / "report.md").read_text()
    found = re.search(rf"\*\*{title}\.\*\* (.*)|### {title}\n\n!\[.*?\]\(.*?\)\n\n\*(.*)\*", text)
    assert found, title
    return found[1] or found[2]


def test_each_caption_says_what_the_data_show(rendered: report.Report) -> None:
    summary = rendered.sweep.summary
    ok = summary[summary["status"] == "ok"]
    # start-up: each executor's range of medians, as plotted
    startup = _caption(rendered, "Start-up cost")
    for (executor, method), part in ok.groupby(["executor", ok["start_method"].fillna("")]):
        name = f"{executor} ({method})" if method else executor
        low, high = part["startup_s_median"].min() * 1000, part["startup_s_median"].max() * 1000
        found = re.search(rf"{re.escape(name)} ([\d.]+) ms to ([\d.]+) ms", startup)
        assert found, (name, startup)
        assert float(found[1]) == pytest.approx(low, rel=0.06) and float(found[2]) == pytest.approx(high, rel=0.06)
    assert "microseconds" not in startup
    # speedup: exactly the curves whose interval lies above min(workers, cores), the ideal line
    caption = _caption(rendered, "Speedup against workers")
    above = ok[(ok["speedup_ci_low"] > np.minimum(ok["workers"], rendered.sweep.cores) * 1.1)]
    assert set(above["workload"]) == {"sleep"}  # waiting work passes the ideal; computing work cannot
    for executor in set(above["executor"]):
        assert f"sleep · {executor}, " in caption
    assert "cpu · " not in caption and "work that waits (sleep, IO) needs no CPU to wait and can pass it" in caption


def test_flat_curves_and_far_limits_are_said_in_words_not_numbers(rendered: report.Report) -> None:
    table = (rendered.root / "report.md").read_text().split("## Scaling fits")[1].split("## ")[0]
    thread_cpu = next(line for line in table.splitlines() if line.startswith("| cpu") and "· thread" in line)
    assert "flat: at most" in thread_cpu and thread_cpu.count("| - |") == 1 and "s = " not in thread_cpu
    sleep_thread = next(line for line in table.splitlines() if line.startswith("| sleep") and "· thread" in line)
    assert "no limit in sight" in sleep_thread and "no peak within" in sleep_thread
    fitted = pd.read_csv(rendered.root / "fits.csv")
    assert {"amdahl_max_speedup", "usl_peak_workers", "speedup_max"} <= set(fitted.columns)  # every number kept


def test_the_serial_baseline_comes_first_and_only_swept_axes_vary(rendered: report.Report) -> None:
    text = (rendered.root / "report.md").read_text()
    rows = [line.split(" | ")[:2] for line in text.split("## Summary")[1].splitlines() if line.startswith("| cpu")]
    assert rows[0] == ["| cpu", "serial"] and [r[1] for r in rows[1:4]] == ["thread"] * 3
    summary = pd.DataFrame({"workload": ["cpu", "cpu", "sleep"], "tasks": [32, 32, 64], "workers": [1, 2, 1]})
    assert [report._varies(summary, axis) for axis in summary] == ["yes", "with the workload", "yes"]


def test_cells_that_differ_only_in_a_parameter_are_told_apart_everywhere(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from runner.report import terminal
    from runner.results.labels import label, with_panels

    root = make_sweep(tmp_path / "sweep", small_design(workloads=[("cpu", {"n": 100000}), ("cpu", {"n": 400000})]))
    sweep = load(root)
    names = pd.Series([label(row) for _, row in with_panels(sweep.summary).iterrows()])
    assert names.is_unique and {"cpu (n=100000)/thread/4", "cpu (n=400000)/process/spawn/2"} <= set(names)
    terminal.print_summary(sweep.summary, root, [])
    printed = capsys.readouterr().out
    assert " native " not in printed  # native_threads was never set: no column of "default"
    rows = [line.split() for line in printed.splitlines() if line.strip().startswith("cpu (n=")]
    assert len(rows) == len(sweep.summary) and {tuple(r[:4]) for r in rows} >= {("cpu", "(n=100000)", "serial", "1")}
    rendered = report.render(root)
    assert "cpu (n=100000)" in rendered.answer[0] and "cpu (n=400000)" in rendered.answer[1]


def test_fits_leave_out_impossible_cells_and_are_drawn_whatever_native_threads_says(
    synthetic: Path, tmp_path: Path
) -> None:
    from runner.report.plots import speedup
    from runner.results import fits

    summary = load(synthetic).summary.assign(native_threads=np.nan)  # a real sweep's column, unset
    sleep = (summary["workload"] == "sleep") & (summary["executor"] == "thread")
    widest = sleep & (summary["workers"] == summary["workers"].max())
    summary.loc[widest, ["speedup_median", "impossible"]] = [40.0, True]
    fitted = fits.fit(summary)
    row = fitted[(fitted["workload"] == "sleep") & (fitted["executor"] == "thread")]
    assert row.empty  # two possible points are no curve to fit
    speedup.draw(summary, fitted, 2, tmp_path / "speedup.png")
    assert "Amdahl fit" in (tmp_path / "speedup.svg").read_text()  # the laws that fit are drawn


def test_the_first_screen_holds_the_answer_only_beside_its_figure(rendered: report.Report) -> None:
    from runner.report.blocks import Heading, Image, Screen

    short = report.answer_blocks(["a line"] * report.SCREEN_LINES, rendered.figures, rendered.sweep)
    assert isinstance(short[0], Screen) and isinstance(short[0].blocks[-1], Image)
    # a long answer would push the figure off the screen: both follow in order instead
    long = report.answer_blocks(["a line"] * (report.SCREEN_LINES + 1), rendered.figures, rendered.sweep)
    assert isinstance(long[0], Heading) and isinstance(long[-1], Image) and long[-1].caption
    bare = report.answer_blocks(["a line"], {}, rendered.sweep)  # nothing drawn: no screen to share
    assert not any(isinstance(b, Screen | Image) for b in bare)


def test_oversubscribed_cells_are_ringed_in_both_curve_figures(synthetic: Path, tmp_path: Path) -> None:
    from runner.report.plots import parallelism, speedup
    from runner.results import fits

    summary = load(synthetic).summary.assign(native_threads=np.nan, oversubscribed=False)
    widest = (summary["executor"] == "process") & (summary["workers"] == summary["workers"].max())
    assert widest.sum() >= 1
    ringed = summary.assign(oversubscribed=widest)
    for name, cells in (("plain", summary), ("ringed", ringed)):
        speedup.draw(cells, fits.fit(cells), 2, tmp_path / f"{name}-speedup.png")
        parallelism.draw(cells, 2, tmp_path / f"{name}-parallelism.png")
    for figure in ("speedup", "parallelism"):
        plain, rings = ((tmp_path / f"{n}-{figure}.svg").read_text() for n in ("plain", "ringed"))
        assert "oversubscribed" in rings and "oversubscribed" not in plain, figure  # the legend's entry
        # a firebrick ring per oversubscribed point, one more in the legend
        assert rings.count("stroke: #b22222") >= plain.count("stroke: #b22222") + widest.sum() + 1, figure


def test_the_ideal_shows_where_a_panel_has_one_worker_count(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A line through one point draws nothing: the ideal is then a short level mark at min(workers, CPUs)."""
    from matplotlib.collections import LineCollection
    from matplotlib.figure import Figure

    from runner.report.plots import common, speedup

    sweep = load(make_sweep(tmp_path / "sweep", small_design(**ONE_CELL)))
    drawn: list[Figure] = []
    monkeypatch.setattr(common, "save", lambda fig, path, title: drawn.append(fig) or [path])
    speedup.draw(sweep.summary, pd.DataFrame(), cores=2, path=tmp_path / "speedup.png")
    (fig,) = drawn
    ideal = [
        segment
        for collection in fig.axes[0].collections
        if isinstance(collection, LineCollection) and max(collection.get_linewidths()) == 3
        for segment in collection.get_segments()
    ]
    assert len(ideal) == 1 and np.ptp(ideal[0][:, 0]) > 0 and set(ideal[0][:, 1]) == {2.0}


def test_the_efficiency_heatmap_quotes_no_impossible_value(synthetic: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An impossible speedup has no colour and no number, only a cross; one at its limit shows the limit."""
    from matplotlib.figure import Figure

    from runner.report.plots import common, efficiency

    summary = load(synthetic).summary
    thread = (summary["executor"] == "thread") & (summary["workload"] == "cpu")
    summary.loc[thread & (summary["workers"] == 1), ["impossible", "efficiency_median"]] = [True, 1.23]
    # measured past the limit of 2 on 2 workers
    summary.loc[thread & (summary["workers"] == 2), ["above_limit", "speedup_limit", "efficiency_median"]] = [
        True,
        2.0,
        1.07,
    ]
    drawn: list[Figure] = []
    monkeypatch.setattr(common, "save", lambda fig, path, title: drawn.append(fig) or [path])
    efficiency.draw(summary, synthetic / "efficiency.png")
    texts = [t.get_text() for ax in drawn[0].axes for t in ax.texts]
    assert efficiency.IMPOSSIBLE in texts and "1.23" not in texts
    assert f"1.00{efficiency.AT_LIMIT}" in texts and "1.07" not in texts
    (panel,) = [ax for ax in drawn[0].axes if ax.get_title().startswith("cpu")]
    rows, columns = ([t.get_text() for t in ticks] for ticks in (panel.get_yticklabels(), panel.get_xticklabels()))
    colour = np.ma.filled(panel.collections[0].get_array(), np.nan).reshape(len(rows), len(columns))
    assert np.isnan(colour[rows.index("thread"), columns.index("1")])
    assert not np.isnan(colour[rows.index("thread"), columns.index("2")])
