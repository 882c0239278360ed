"""What does a sweep cost besides its measurements, before and after a change? (issue 15)

Measures, for two trees of the lab (``--before REF``, default 6a9a52f, and the working
tree this file sits in), interleaved round by round (before, now, before, now, ...) so that
the machine's drift hits both, and prints one markdown table of medians over ``--rounds``:

- overhead per cell of a sweep: (the sweep's wall time - the time its cells spent
  measuring) / cells measured. "Measuring" is, summed over every repetition (warm-up ones
  included) of every record in ``<sweep>/cells/*.json``, ``startup_s + wall_s +
  shutdown_s``: starting the pool, running the tasks, closing the pool, plus the serial probe
  before a repetition (``probe.wall_s``, issue 10's paired reference: tasks the cell runs to
  measure the machine, not the lab's bookkeeping; sweeps before the probes had none). "Cells measured" is
  the number of those records, serial baselines included (as benchmarks/fidelity.py counts).
  Everything else (interpreters, Hydra, composing configs, writing CSVs, the report) is
  overhead. Measured on the default sweep (``-m executor=thread,process workers=1,2,4,8``:
  16 jobs, 18 records) and on sweeps of N ``tiny`` cells for each N in ``--sizes``: N/2 jobs
  ``workload=tiny executor=thread workers=1 repeats=1 warmup=0 seed=0,1,...``, each job a
  thread cell plus its own serial baseline (the seed is part of a cell's identity, so each
  seed measures both anew);
- the sweeping process's peak memory: VmHWM from /proc/PID/status of ``python -m runner``
  itself, polled every 20 ms while it runs (its children, the cells, are not counted);
- ``python -m runner -m workload=tiny`` end to end: a 1-cell sweep (one job, four threads,
  the default 3 repetitions and 1 warm-up; 2 records with its serial baseline);
- ``python -m runner --help``;
- ``python -m runner.report DIR`` on that round's default sweep (by the same tree) and on a
  synthetic sweep of ``--cells 1000`` (benchmarks/synthetic.py: 1,068 cells; a copy per tree),
  twice each: with an empty figure cache (every figure drawn), then again (nothing changed:
  a tree that keeps figures, plots/kept.py, keeps them all). Every command runs with a cache
  of the run's own (``CONCURRENCY_LAB_CACHE``), never the user's. For the drawn reports also
  their CPU time (user + system of the report and of every process it started and waited for:
  its drawing processes, the fits) and that CPU time over the usable CPUs, the least wall time
  the report could take here however its work were split;
- the anchor: Hydra's basic launcher running a no-op ``@hydra.main`` app over a grid of as
  many jobs as each lab sweep (``-m x=0,1,...``), wall time and wall time per job.

Every command runs as a user's machine runs it, with its bytecode cached: each tree's runner,
workloads and hydra_plugins are compiled (``compileall``) before the first round and
``PYTHONDONTWRITEBYTECODE`` is removed from every command's environment (a sandbox that sets
it makes every command compile the lab's modules again: 0.07 s of ``--help`` here). Each tree's
lab runs as ``python -m runner`` with ``cwd`` the tree and the tree first on PYTHONPATH, so its
own ``runner``, ``conf/`` and ``hydra_plugins/`` are used. A tree with no
``hydra_plugins/`` of its own (6a9a52f has none) gets an empty stand-in after it on the path:
otherwise Hydra would load the plugin of whichever checkout is installed in editable mode.
Nothing here imports ``runner``: every measurement is a command line and the files it leaves.

    python benchmarks/overhead.py --rounds 3                 # --sizes 10,50,200,500 --before REF
    python benchmarks/overhead.py --rounds 1 --sizes 10 --skip-default-sweep    # a quick check
"""

from __future__ import annotations

import argparse
import datetime
import functools
import glob
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SWEEP = ["executor=thread,process", "workers=1,2,4,8"]
TINY_CELL = ["workload=tiny", "executor=thread", "workers=1", "repeats=1", "warmup=0"]
POLL_S = 0.02
CPUS = len(os.sched_getaffinity(0))
TARGETS = {
    "default sweep: overhead per cell (s)": 0.25,
    "200 `tiny` cells: overhead per cell (s)": 0.15,
    "1-cell `tiny` sweep end to end (s)": 1.5,
    "`python -m runner --help` (s)": 0.4,
    "`python -m runner.report` on the default sweep, figures drawn (s)": 1.0,
    "`python -m runner.report` on the default sweep again, nothing changed (s)": 1.0,
    "`python -m runner.report` on 1,000 synthetic cells, figures drawn (s)": 3.0,
    "`python -m runner.report` on 1,000 synthetic cells again, nothing changed (s)": 3.0,
}

NOOP_APP = """\
import hydra
from omegaconf import DictConfig


@hydra.main(version_base=None, config_path="conf", config_name="config")
def main(cfg: DictConfig) -> None:
    pass


if __name__ == "__main__":
    main()
"""


@dataclass
class Tree:
    name: str
    root: Path
    env: dict[str, str]


@dataclass
class Run:
    wall_s: float
    cpu_s: float  # user + system, of the command and every process it waited for
    peak_kib: int | None = None


@dataclass
class Samples:
    """Per measure, per tree (or "anchor"), one value per round."""

    values: dict[str, dict[str, list[float]]] = field(default_factory=lambda: defaultdict(lambda: defaultdict(list)))
    order: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    def add(self, measure: str, who: str, value: float) -> None:
        if measure not in self.order:
            self.order.append(measure)
        self.values[measure][who].append(value)


def run_timed(cmd: list[str], cwd: Path, env: dict[str, str], watch_memory: bool = False) -> Run:
    """Wall time of ``cmd`` (and its own VmHWM plus its summary helper's, polled: they are gone once
    the processes are reaped)."""
    with tempfile.TemporaryFile() as err:
        used = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=err)
        peak = None
        while proc.poll() is None:
            if watch_memory:
                own = _vmhwm_kib(proc.pid)
                if own:  # the helper is gone before the sweep: keep the largest sum seen
                    peak = max(peak or 0, own + sum(_vmhwm_kib(h) or 0 for h in _helpers(proc.pid)))
            time.sleep(POLL_S)
        wall = time.perf_counter() - start
        now = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (now.ru_utime - used.ru_utime) + (now.ru_stime - used.ru_stime)
        if proc.returncode != 0:
            err.seek(0)
            tail = err.read().decode(errors="replace")[-1500:]
            raise RuntimeError(f"{' '.join(cmd)} (cwd {cwd}) exited {proc.returncode}:\n{tail}")
    return Run(wall, cpu, peak)


def _helpers(pid: int) -> list[int]:
    """The summary's helper among ``pid``'s children (runner/sweep/finishing.py): its memory is the sweep's."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            child = entry.name.isdigit() and (entry / "stat").read_text().rsplit(")", 1)[1].split()[1] == str(pid)
            if child and b"runner.sweep.finishing" in (entry / "cmdline").read_bytes():
                found.append(int(entry.name))
        except OSError:
            continue
    return found


def _vmhwm_kib(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError):
        pass
    # a zombie has no VmHWM line: the last value read stands
    return None


def measured(sweep_dir: Path) -> tuple[int, float]:
    """(records, seconds their repetitions spent starting pools, running tasks (probes included)
    and closing them)."""
    records = 0
    seconds = 0.0
    for path in glob.glob(str(sweep_dir / "cells" / "*.json")):
        with open(path) as f:
            record = json.load(f)
        records += 1
        for rep in record["result"]["reps"]:
            seconds += (
                rep["startup_s"] + rep["wall_s"] + rep["shutdown_s"] + (rep.get("probe") or {}).get("wall_s", 0.0)
            )
    return records, seconds


def make_tree(name: str, root: Path, shadow: Path, cache: Path) -> Tree:
    # The editable install puts /work/main's hydra_plugins on every interpreter's path; a tree
    # without its own plugin would load that one (and, through the install, modules its runner
    # lacks), so an empty package of the same name after the tree hides it.
    path = [str(root)] if (root / "hydra_plugins" / "concurrency_lab").is_dir() else [str(root), str(shadow)]
    env = {**cached_bytecode(), "PYTHONPATH": os.pathsep.join(path), "CONCURRENCY_LAB_CACHE": str(cache)}
    sources = [d for d in ("runner", "workloads", "hydra_plugins") if (root / d).is_dir()]
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", *sources],
        cwd=root,
        env=env,
        check=True,
    )
    return Tree(name, root, env)


def cached_bytecode() -> dict[str, str]:
    """This process's environment, without what would stop Python from reading and writing ``__pycache__``."""
    return {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def write_noop_app(where: Path) -> Path:
    (where / "conf").mkdir(parents=True)
    (where / "conf" / "config.yaml").write_text("x: 0\n")
    (where / "app.py").write_text(NOOP_APP)
    return where / "app.py"


def seeds(count: int) -> str:
    return "seed=" + ",".join(str(s) for s in range(count))


class Bench:
    """One measurement run: the trees, their scratch space, and what was measured."""

    def __init__(self, tmp: Path, before: str) -> None:
        self.tmp = tmp
        self.samples = Samples()
        shadow = tmp / "shadow"
        (shadow / "hydra_plugins" / "concurrency_lab").mkdir(parents=True)
        (shadow / "hydra_plugins" / "concurrency_lab" / "__init__.py").write_text("")
        before_root = tmp / "before"
        before_root.mkdir()
        archive = subprocess.run(["git", "-C", str(PROJECT_ROOT), "archive", before], check=True, capture_output=True)
        subprocess.run(["tar", "-x", "-C", str(before_root)], input=archive.stdout, check=True)
        self.trees = [
            make_tree(f"before ({before})", before_root, shadow, tmp / "cache-before"),
            make_tree("now", PROJECT_ROOT, shadow, tmp / "cache-now"),
        ]
        for tree in self.trees:
            where = subprocess.run(
                [sys.executable, "-c", "import runner; print(runner.__file__)"],
                cwd=tree.root,
                env=tree.env,
                capture_output=True,
                text=True,
                check=True,
            ).stdout.strip()
            print(f"{tree.name}: runner from {where}", flush=True)
            if not where.startswith(str(tree.root)):
                sys.exit(f"{tree.name} would not run its own runner")
        self.app = write_noop_app(tmp / "noop")
        self.anchor_env = {**cached_bytecode(), "PYTHONPATH": str(shadow)}  # plain Hydra: no lab plugin to scan
        synthetic = tmp / "synthetic"
        subprocess.run(
            [sys.executable, str(PROJECT_ROOT / "benchmarks" / "synthetic.py"), str(synthetic), "--cells", "1000"],
            check=True,
            capture_output=True,
        )
        results = pd.read_csv(synthetic / "results.csv", usecols=["cell"])
        self.synthetic_note = (
            f"synthetic sweep (benchmarks/synthetic.py --cells 1000): {results['cell'].nunique()} cells"
        )
        # a copy per tree: the report writes its figures into the directory it reads
        for i in range(len(self.trees)):
            shutil.copytree(synthetic, tmp / f"synthetic-{i}")

    def attempt(self, measure: str, who: str, step: Callable[[], float]) -> None:
        """Record one value; a tree that cannot do something gets a note, not an abort."""
        if measure not in self.samples.order:  # the headline row before the rows a sweep adds
            self.samples.order.append(measure)
        try:
            self.samples.add(measure, who, step())
        except (RuntimeError, KeyError, OSError, json.JSONDecodeError) as error:
            self.samples.failures.append(f"{measure}, {who}: {error}")
            print(f"  failed: {measure}, {who}: {str(error).splitlines()[0]}", flush=True)

    def each_tree(self, measure: str, step: Callable[[Tree, int], float]) -> None:
        for i, tree in enumerate(self.trees):
            self.attempt(measure, tree.name, functools.partial(step, tree, i))

    def command(self, tree: Tree, *args: str) -> float:
        return run_timed([sys.executable, "-m", *args], tree.root, tree.env).wall_s

    def reports(self, what: str, where: Callable[[int], Path], cache: Path) -> None:
        """``python -m runner.report`` on what ``where`` gives each tree: with an empty figure
        cache, then again with what that run kept."""
        for again in (False, True):
            measure = f"`python -m runner.report` on {what}" + (
                " again, nothing changed" if again else ", figures drawn"
            )

            def report(t: Tree, i: int, measure: str = measure, again: bool = again) -> float:
                env = {**t.env, "CONCURRENCY_LAB_CACHE": str(cache / str(i))}
                run = run_timed([sys.executable, "-m", "runner.report", str(where(i))], t.root, env)
                if not again:  # what the wall time cannot go under here, however the work is split
                    self.samples.add(f"{measure}: CPU s, all its processes", t.name, run.cpu_s)
                    self.samples.add(f"{measure}: that CPU / {CPUS} usable CPUs (s)", t.name, run.cpu_s / CPUS)
                return run.wall_s

            self.each_tree(f"{measure} (s)", report)

    def sweep(self, tree: Tree, overrides: list[str], sweep_dir: Path, label: str) -> float:
        """Overhead per cell of one sweep; its wall time, cells and peak memory as rows of their own."""
        run = run_timed(
            [sys.executable, "-m", "runner", "-m", *overrides, f"hydra.sweep.dir={sweep_dir}"],
            tree.root,
            tree.env,
            watch_memory=True,
        )
        records, busy = measured(sweep_dir)
        if records == 0:
            raise RuntimeError(f"no cell records under {sweep_dir}/cells")
        self.samples.add(f"{label}: cells measured", tree.name, records)
        self.samples.add(f"{label}: sweep wall time (s)", tree.name, run.wall_s)
        if run.peak_kib is not None:
            self.samples.add(
                f"{label}: peak RSS, sweeping process + summary helper (MiB)", tree.name, run.peak_kib / 1024
            )
        return (run.wall_s - busy) / records

    def anchor(self, jobs: int, round_dir: Path) -> None:
        out = round_dir / f"anchor-{jobs}"
        grid = "x=" + ",".join(str(x) for x in range(jobs))
        run = run_timed(
            [sys.executable, str(self.app), "-m", grid, f"hydra.sweep.dir={out}"], self.app.parent, self.anchor_env
        )
        label = f"anchor: Hydra basic launcher, no-op app, {jobs} jobs"
        self.samples.add(f"{label}: wall time (s)", "anchor", run.wall_s)
        self.samples.add(f"{label}: per job (s)", "anchor", run.wall_s / jobs)
        shutil.rmtree(out, ignore_errors=True)

    def round(self, r: int, sizes: list[int], default_sweep: bool) -> None:
        d = self.tmp / f"round{r}"
        self.each_tree("`python -m runner --help` (s)", lambda t, i: self.command(t, "runner", "--help"))
        self.each_tree(
            "1-cell `tiny` sweep end to end (s)",
            lambda t, i: self.command(t, "runner", "-m", "workload=tiny", f"hydra.sweep.dir={d / f'one-{i}'}"),
        )
        for n in sizes:
            label = f"{n} `tiny` cells"

            def tiny(t: Tree, i: int, n: int = n, label: str = label) -> float:
                return self.sweep(t, [*TINY_CELL, seeds(n // 2)], d / f"tiny{n}-{i}", label)

            self.each_tree(f"{label}: overhead per cell (s)", tiny)
            self.anchor(n // 2, d)
        if default_sweep:
            label = "default sweep"
            self.each_tree(
                f"{label}: overhead per cell (s)",
                lambda t, i: self.sweep(t, DEFAULT_SWEEP, d / f"default-{i}", label),
            )
            self.reports("the default sweep", lambda i: d / f"default-{i}", d / "report-cache-default")
            self.anchor(16, d)
        self.reports("1,000 synthetic cells", lambda i: self.tmp / f"synthetic-{i}", d / "report-cache-synthetic")
        shutil.rmtree(d, ignore_errors=True)


def print_table(samples: Samples, before: str, now: str) -> None:
    print(f"| measure | {before} | {now} | now/before | target | met? |")
    print("|---|---|---|---|---|---|")
    for measure in samples.order:
        got = samples.values[measure]
        if "anchor" in got:
            print(f"| {measure} | | {_fmt(statistics.median(got['anchor']))} | | | |")
            continue
        a = statistics.median(got[before]) if got[before] else None
        b = statistics.median(got[now]) if got[now] else None
        ratio = f"{b / a:.2f}" if a and b is not None else "-"
        target = TARGETS.get(measure)
        met = "-" if target is None or b is None else ("yes" if b <= target else "no")
        limit = f"<= {target:g}" if target is not None else ""
        print(f"| {measure} | {_fmt(a)} | {_fmt(b)} | {ratio} | {limit} | {met} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--sizes", default="10,50,200", help="tiny sweeps of these many cells (even numbers)")
    parser.add_argument("--before", default="6a9a52f", help="git ref of the tree to compare with")
    parser.add_argument("--skip-default-sweep", action="store_true", help="about 75 s a run here; skip it")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    if any(n < 2 or n % 2 for n in sizes):
        parser.error("--sizes: even numbers of at least 2 (each job measures a cell and its baseline)")

    load_start = os.getloadavg()
    started = datetime.datetime.now(datetime.UTC)
    with tempfile.TemporaryDirectory(prefix="overhead-") as tmp:
        bench = Bench(Path(tmp), args.before)
        for r in range(args.rounds):
            print(f"round {r + 1}/{args.rounds} (1-minute load {os.getloadavg()[0]:.2f})", flush=True)
            bench.round(r, sizes, not args.skip_default_sweep)
    load_end = os.getloadavg()
    print()
    print(
        f"{started:%Y-%m-%d %H:%M} UTC, {os.cpu_count()} CPUs, Python {sys.version.split()[0]}, "
        f"medians of {args.rounds} round(s), sizes {args.sizes}"
        + (", default sweep skipped" if args.skip_default_sweep else "")
        + "; bytecode cached (each tree compiled first, PYTHONDONTWRITEBYTECODE unset)"
    )
    print()
    print_table(bench.samples, bench.trees[0].name, bench.trees[1].name)
    print()
    print(bench.synthetic_note)
    print(
        "load average (1, 5, 15 min): start "
        + ", ".join(f"{x:.2f}" for x in load_start)
        + "; end "
        + ", ".join(f"{x:.2f}" for x in load_end)
    )
    for failure in bench.samples.failures:
        print(f"failed: {failure}")


def _fmt(value: float | None) -> str:
    if value is None:
        return "-"
    if value == int(value):  # counts
        return f"{value:.0f}"
    return f"{value:.3f}" if value < 10 else f"{value:.1f}"


if __name__ == "__main__":
    main()
