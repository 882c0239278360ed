"""Scaling laws fitted to each speedup curve: Amdahl's law and Gunther's USL.

A curve is the cells of the summary that differ only in ``workers``; it is fitted when
it has at least ``MIN_POINTS`` worker counts. Both laws are fitted by least squares
(scipy) to the median speedups:

- Amdahl: S(N) = 1 / (s + (1 - s) / N), the serial fraction s in [0, 1]; S tends to 1/s.
- USL: C(N) = N / (1 + a (N - 1) + b N (N - 1)), contention a in [0, 1], coherency
  b >= 0; C peaks at N* = sqrt((1 - a) / b) when b > 0.

A fit is *poor* when it misses the medians by more than ``POOR_RMSE`` (root mean square,
relative to the mean speedup), or when it explains less than ``POOR_R2`` of their
variation while missing by more than ``NOISE_RMSE`` (below that the misfit is within
the noise of a few repetitions, whatever R² says of a flat curve).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from runner import cache
from runner.results.labels import flags, native_setting, param_columns

MIN_POINTS = 3
POOR_RMSE = 0.10
POOR_R2 = 0.90
NOISE_RMSE = 0.03
# A curve whose best median speedup stays below this has no scaling for a law to describe:
# its fitted parameters (a serial fraction near 1, a peak below one worker) mean nothing.
FLAT_SPEEDUP = 1.2
# Columns that tell curves apart in summary.csv; `workers` runs along each curve.
CURVE_KEYS = [
    "workload", "executor", "start_method", "python", "gil", "switch_interval", "native_threads", "tasks", "fail_rate"
]  # fmt: skip
# What ``_fit`` finds for a curve, in its order
FITTED = [
    "amdahl_serial_fraction",
    "amdahl_max_speedup",
    "amdahl_r2",
    "amdahl_rmse",
    "amdahl_poor",
    "usl_a",
    "usl_b",
    "usl_r2",
    "usl_rmse",
    "usl_poor",
    "usl_peak_workers",
    "usl_peak_speedup",
]
COLUMNS = ["points", "workers_max", "speedup_max", *FITTED]


def amdahl(n: Any, s: float) -> Any:
    return 1.0 / (s + (1.0 - s) / n)


def usl(n: Any, a: float, b: float) -> Any:
    return n / (1.0 + a * (n - 1.0) + b * n * (n - 1.0))


def flat(row: Mapping[str, Any] | pd.Series) -> bool:
    """No scaling to fit: the curve never gets FLAT_SPEEDUP times faster than serial."""
    return bool(row["speedup_max"] < FLAT_SPEEDUP)


def amdahl_fits(row: Mapping[str, Any] | pd.Series) -> bool:
    """Amdahl's law describes the curve: it scales, and the law is not a poor fit."""
    return not flat(row) and not row["amdahl_poor"]


def usl_fits(row: Mapping[str, Any] | pd.Series) -> bool:
    return not flat(row) and not row["usl_poor"]


def curve_keys(summary: pd.DataFrame) -> list[str]:
    return [k for k in CURVE_KEYS if k in summary] + param_columns(summary)


def curve_id(row: Mapping[str, Any] | pd.Series, keys: list[str]) -> str:
    """A curve's identity, equal for its summary rows and its row of the fits table, and for the
    figures' copy of those rows, where an unset ``native_threads`` reads "default"."""
    return "|".join(native_setting(row[k]) or "default" if k == "native_threads" else str(row[k]) for k in keys)


def _quality(y: np.ndarray, predicted: np.ndarray) -> tuple[float, float, bool]:
    residual = float(np.sum((y - predicted) ** 2))
    total = float(np.sum((y - y.mean()) ** 2))
    r2 = 1.0 - residual / total if total > 1e-12 else math.nan
    rmse = math.sqrt(residual / len(y)) / float(np.mean(np.abs(y)))
    poor = rmse > POOR_RMSE or (not math.isnan(r2) and r2 < POOR_R2 and rmse > NOISE_RMSE)
    return r2, rmse, poor


def _usl_jacobian(n: np.ndarray, a: float, b: float) -> np.ndarray:
    d = 1.0 + a * (n - 1.0) + b * n * (n - 1.0)
    c = n / d
    return np.stack([-c / d * (n - 1.0), -c / d * n * (n - 1.0)], axis=1)


def _fit(x: np.ndarray, y: np.ndarray) -> dict[str, Any]:
    """Both laws fitted to one curve; kept in the user's cache (runner/cache.py), so that a
    report of the same curves again needs no scipy, whose import costs more than the rest of
    a small report's tables."""
    name = cache.key("fit", x.astype(float).tobytes(), y.astype(float).tobytes())
    kept = cache.read("fits", name)
    if isinstance(kept, dict) and list(kept) == FITTED:
        return kept
    fitted = _least_squares(x, y)
    cache.write("fits", name, fitted)
    return fitted


def _least_squares(x: np.ndarray, y: np.ndarray) -> dict[str, Any]:
    # imported here: scipy.optimize takes a third of a second to import, which the report
    # spends in the worker process that draws the speedup figure rather than up front
    from scipy.optimize import least_squares, minimize_scalar

    # Amdahl has one parameter: a bounded scalar minimisation of the squared error.
    s = float(minimize_scalar(lambda s: np.sum((amdahl(x, s) - y) ** 2), bounds=(0.0, 1.0), method="bounded").x)
    # USL is linear in (a, b) once rearranged, N / C - 1 = a (N - 1) + b N (N - 1): that
    # solution starts the least-squares fit on C itself, which then takes a few steps.
    linear = np.linalg.lstsq(np.stack([x - 1.0, x * (x - 1.0)], axis=1), x / y - 1.0, rcond=None)[0]
    start = np.clip(linear, [1e-6, 1e-9], [1.0 - 1e-6, np.inf])
    a, b = least_squares(
        lambda p: usl(x, p[0], p[1]) - y,
        start,
        jac=lambda p: _usl_jacobian(x, p[0], p[1]),
        bounds=([0.0, 0.0], [1.0, np.inf]),
    ).x
    a, b = float(a), float(b)
    amdahl_r2, amdahl_rmse, amdahl_poor = _quality(y, amdahl(x, s))
    usl_r2, usl_rmse, usl_poor = _quality(y, usl(x, a, b))
    # without a peak USL rises towards 1/a, or is flat from N = 1 when a = 1
    peak = math.sqrt((1.0 - a) / b) if b > 1e-12 and a < 1.0 else (1.0 if a >= 1.0 else math.inf)
    return {
        "amdahl_serial_fraction": s,
        "amdahl_max_speedup": 1.0 / s if s > 0 else math.inf,
        "amdahl_r2": amdahl_r2,
        "amdahl_rmse": amdahl_rmse,
        "amdahl_poor": amdahl_poor,
        "usl_a": a,
        "usl_b": b,
        "usl_r2": usl_r2,
        "usl_rmse": usl_rmse,
        "usl_poor": usl_poor,
        "usl_peak_workers": peak,
        "usl_peak_speedup": float(usl(peak, a, b)) if math.isfinite(peak) else (1.0 / a if a > 0 else math.inf),
    }


def fit(summary: pd.DataFrame) -> pd.DataFrame:
    """One row per curve with at least MIN_POINTS worker counts: both laws' parameters and quality."""
    keys = curve_keys(summary)
    # an impossible speedup is not a measurement: no law is fitted through it
    ok = summary[(summary["status"] == "ok") & summary["speedup_median"].notna() & ~flags(summary, "impossible")]
    rows = []
    for key, curve in ok.groupby(keys, dropna=False, sort=True):
        curve = curve.sort_values("workers")
        if curve["workers"].nunique() < MIN_POINTS:
            continue
        x = curve["workers"].to_numpy(dtype=float)
        y = curve["speedup_median"].to_numpy(dtype=float)
        rows.append(
            {
                **dict(zip(keys, key, strict=True)),
                "points": len(x),
                "workers_max": int(x.max()),
                "speedup_max": float(y.max()),
                **_fit(x, y),
            }
        )
    return pd.DataFrame(rows, columns=[*keys, *COLUMNS])
