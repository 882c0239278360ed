"""A synthetic sweep directory: the files a real sweep leaves, with plausible numbers.

For the report's speed benchmark (a 1,000-cell sweep measures for hours) and for tests
that exercise the report without measuring. Nothing here is a measurement: numbers
follow a simple model of each workload (GIL-bound, GIL-releasing, waiting) plus noise.

    python benchmarks/synthetic.py DIR [--cells 1000]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script from anywhere

from runner.results.aggregate import summary, write_csv

PROCESS_LIKE = {"process", "mp_pool", "process_per_task"}
GIL_EXPECT = [
    {
        "claim": "threads do not speed up pure-Python CPU work",
        "where": "workload == 'cpu' and executor == 'thread'",
        "check": "speedup < 1.2",
    },
    {
        "claim": "processes run CPU work in parallel up to the cores",
        "where": "workload == 'cpu' and executor == 'process' and workers <= cores",
        "check": "parallelism > 0.6 * workers",
    },
    {
        "claim": "threads suit waiting",
        "where": "workload == 'sleep' and executor == 'thread'",
        "check": "speedup > 0.8 * in_flight",
    },
]


@dataclass
class Design:
    """What to sweep; the defaults make 6 executors x 8 worker counts x 3 start methods per workload."""

    workloads: list[tuple[str, dict[str, Any]]] = field(
        default_factory=lambda: [("cpu", {"n": 200000}), ("gil_release", {"size": 8}), ("sleep", {"seconds": 0.02})]
    )
    executors: list[str] = field(
        default_factory=lambda: ["serial", "thread", "asyncio", "process", "mp_pool", "process_per_task"]
    )
    workers: list[int] = field(default_factory=lambda: [1, 2, 4, 8, 16, 32, 64, 128])
    methods: list[str] = field(default_factory=lambda: ["fork", "forkserver", "spawn"])
    repeats: int = 3
    tasks: int = 64
    cores: int = 16
    task_s: float = 0.004  # the shortest workload's task; each workload's is between this and twice it
    expect: list[dict[str, Any]] = field(default_factory=lambda: list(GIL_EXPECT))


def design_for(cells: int) -> Design:
    """Enough workload configs (cpu, gil_release and sleep at growing sizes) to reach ``cells``."""
    design = Design()
    per_workload = sum(
        1 if e == "serial" else len(design.workers) * (len(design.methods) if e in PROCESS_LIKE else 1)
        for e in design.executors
    )
    kinds = [("cpu", "n", 200000), ("gil_release", "size", 8), ("sleep", "seconds", 0.02)]
    count = max(1, -(-cells // per_workload))
    design.workloads = [(name, {key: base * (1 + i // 3)}) for i, (name, key, base) in enumerate(kinds * count)][:count]
    return design


def _speedup(kind: str, executor: str, workers: int, tasks: int, cores: int) -> tuple[float, float]:
    """(speedup, CPU share per task) that each workload's physics predicts, roughly."""
    busy = min(workers, tasks)
    if kind == "sleep":
        return busy * (0.97 if executor in PROCESS_LIKE else 1.0), 0.01
    if executor in ("serial",) or (kind == "cpu" and executor in ("thread", "asyncio")):
        return 0.95, 1.0 / busy
    usl = busy / (1 + 0.03 * (busy - 1) + 0.0008 * busy * (busy - 1))
    return min(usl, cores * 0.9), min(1.0, cores / busy)


def _cell_id(*parts: Any) -> str:
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:12]


def make_sweep(root: Path, design: Design | None = None, seed: int = 0) -> Path:
    """Write results.csv, tasks.csv, summary.csv, environment.json, multirun.yaml and job configs."""
    design = design or Design()
    rng = np.random.default_rng(seed)
    root.mkdir(parents=True, exist_ok=True)
    results: list[dict[str, Any]] = []
    tasks: list[pd.DataFrame] = []
    jobs = 0
    for name, params in design.workloads:
        base_cell = _cell_id(name, params, "serial")
        # the workload's own speed: the same in every sweep of the same design, as for the same code
        task_s = design.task_s * (1 + int(_cell_id(name, params)[:4], 16) / 0xFFFF)
        for executor in design.executors:
            workers = [1] if executor == "serial" else design.workers
            methods = design.methods if executor in PROCESS_LIKE else [""]
            for method in methods:
                for w in workers:
                    cell = base_cell if executor == "serial" else _cell_id(name, params, executor, method, w)
                    speedup, share = _speedup(name, executor, w, design.tasks, design.cores)
                    startup = (
                        (3e-3 if method == "fork" else 4e-2 if method == "forkserver" else 0.12) * (1 + w / 8)
                        if executor in PROCESS_LIKE
                        else 5e-5 * w
                    )
                    for rep in range(design.repeats):
                        wall = design.tasks * task_s / speedup * rng.lognormal(0, 0.03)
                        cpu = design.tasks * task_s * (0.01 if name == "sleep" else 1.0)
                        results.append(
                            {
                                "schema": 1,
                                "sweep": "synthetic",
                                "cell": cell,
                                "baseline": base_cell,
                                "round": 0,
                                "workload": name,
                                "executor": executor,
                                "start_method": method,
                                "workers": w,
                                "python": "3.12.3",
                                "gil": True,
                                "tasks": design.tasks,
                                "fail_rate": 0.0,
                                "repeats": design.repeats,
                                **{f"workload.{k}": v for k, v in params.items()},
                                "rep": rep,
                                "wall_s": wall,
                                "startup_s": startup * rng.lognormal(0, 0.1),
                                "cpu_s": cpu,
                                "parallelism": cpu / wall,
                                "throughput": design.tasks / wall,
                                "peak_rss_mb": 20.0 * (w if executor in PROCESS_LIKE else 1),
                                "errors": 0,
                                "status": "ok",
                                "message": "",
                            }
                        )
                        lanes = min(w, design.tasks)
                        index = np.arange(design.tasks)
                        length = wall / np.ceil(design.tasks / lanes)
                        start = (index // lanes) * length + rng.random(design.tasks) * length * 0.05
                        tasks.append(
                            pd.DataFrame(
                                {
                                    "cell": cell,
                                    "round": 0,
                                    "rep": rep,
                                    "task": index,
                                    "worker": [f"{1000 + lane}/{lane}" for lane in index % lanes],
                                    "pid": 1000 + index % lanes,
                                    "start_s": start,
                                    "end_s": start + length * 0.95,
                                    "cpu_s": length * 0.95 * share,
                                    "ok": True,
                                    "error": "",
                                }
                            )
                        )
                    jobs += executor != "serial"
    frame = pd.DataFrame(results)
    base = frame.groupby("cell")["wall_s"].median()
    frame["speedup"] = frame["baseline"].map(base) / frame["wall_s"]
    frame["efficiency"] = frame["speedup"] / frame["workers"]
    write_csv(frame, root / "results.csv")
    write_csv(pd.concat(tasks, ignore_index=True), root / "tasks.csv")
    write_csv(summary(frame, design.cores), root / "summary.csv")
    _records(root, design, jobs)
    return root


def _records(root: Path, design: Design, jobs: int) -> None:
    """environment.json and the Hydra records a sweep with these overrides would leave."""
    environment = {
        "python": "3.12.3",
        "implementation": "CPython",
        "gil": True,
        "free_threaded_build": False,
        "python_build": ["main", "synthetic"],
        "platform": "Linux-synthetic",
        "cpu_model": "synthetic CPU",
        "cpu_count": design.cores,
        "cpu_affinity": list(range(design.cores)),
        "memory_gib": 64.0,
        "load_before": [0.5, 0.5, 0.5],
        "load_after": [0.6, 0.5, 0.5],
        "packages": {"pandas": pd.__version__},
        "git_revision": "0" * 40,
        "git_dirty": False,
        "command": "python -m runner -m ...",
    }
    (root / "environment.json").write_text(json.dumps(environment))
    config = {
        "workload": {"name": "cpu", "tasks": design.tasks, "params": {}, "fail_rate": 0.0},
        "executor": {"name": "thread"},
        "start_method": "fork",
        "workers": 4,
        "repeats": design.repeats,
        "warmup": 1,
        "seed": 0,
        "timeout_s": 600.0,
        "rounds": 1,
        "round": 0,
        "expect": design.expect,
    }
    overrides = [
        "workload=" + ",".join(sorted({n for n, _ in design.workloads})),
        "executor=" + ",".join(design.executors),
        "workers=" + ",".join(map(str, design.workers)),
        "start_method=" + ",".join(design.methods),
    ]
    hydra = {"overrides": {"hydra": [f"hydra.sweep.dir={root}", "hydra.mode=MULTIRUN"], "task": overrides}}
    (root / "multirun.yaml").write_text(yaml.safe_dump({"hydra": hydra, **config}))
    job_config = yaml.safe_dump(config)
    for job in range(jobs):
        (root / str(job) / ".hydra").mkdir(parents=True, exist_ok=True)
        (root / str(job) / ".hydra" / "config.yaml").write_text(job_config)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dir", type=Path)
    parser.add_argument("--cells", type=int, default=1000)
    args = parser.parse_args()
    make_sweep(args.dir, design_for(args.cells))
    cells = pd.read_csv(args.dir / "summary.csv")
    print(f"{args.dir}: {len(cells)} cells")


if __name__ == "__main__":
    main()
