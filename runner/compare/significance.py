"""The statistics of a comparison: a ratio's bootstrap interval, Welch's p-value, the false
discovery rate over many cells, and the verdict they give one pair of cells."""

from __future__ import annotations

import math

import numpy as np

FASTER, SLOWER, SAME, INCONCLUSIVE = "faster", "slower", "no significant change", "inconclusive"
TOO_FEW = "too few repetitions"
MIN_EFFECT = 0.05
NOISE_FACTOR = 2.0
RESAMPLES = 2000
CONFIDENCE = 0.95
FDR = 0.05


def ratio_ci(a: np.ndarray, b: np.ndarray, seed: int = 0) -> tuple[float, float]:
    """Percentile bootstrap CI of median(B) / median(A), resampling each side's repetitions."""
    from scipy import stats

    if min(len(a), len(b)) < 2 or (np.ptp(a) == 0 and np.ptp(b) == 0):  # nothing to resample
        ratio = float(np.median(b) / np.median(a))
        return ratio, ratio
    result = stats.bootstrap(
        (a, b),
        lambda x, y, axis: np.median(y, axis=axis) / np.median(x, axis=axis),
        vectorized=True,
        paired=False,
        confidence_level=CONFIDENCE,
        n_resamples=RESAMPLES,
        method="percentile",
        random_state=seed,
    ).confidence_interval
    return float(result.low), float(result.high)


def p_value(a: np.ndarray, b: np.ndarray) -> float:
    """Welch's t-test on the logs of the two samples."""
    from scipy import stats

    x, y = np.log(a), np.log(b)
    if np.ptp(x) == 0 and np.ptp(y) == 0:  # no spread: any difference is exact
        return 0.0 if x[0] != y[0] else 1.0
    return float(stats.ttest_ind(x, y, equal_var=False).pvalue)


def adjust(p_values: list[float]) -> list[float]:
    """Benjamini-Hochberg adjusted p-values: judged together, the cells share one error rate."""
    from scipy import stats

    known = [p for p in p_values if not math.isnan(p)]
    if not known:
        return p_values
    adjusted = iter(stats.false_discovery_control(known).tolist())
    return [p if math.isnan(p) else next(adjusted) for p in p_values]


def verdict(
    a: np.ndarray, b: np.ndarray, low: float, high: float, min_effect: float, *, p: float = 0.0, fdr: float = FDR
) -> tuple[str, float]:
    """The verdict for one pair of cells given its (adjusted) p-value, and the effect threshold it used."""
    if min(len(a), len(b)) < 2:
        return TOO_FEW, math.nan
    # the noise of the ratio: each sample's coefficient of variation, combined in quadrature
    noise = math.sqrt(sum((float(np.std(x, ddof=1) / np.mean(x))) ** 2 for x in (a, b)))
    threshold = max(min_effect, NOISE_FACTOR * noise)
    ratio = float(np.median(b) / np.median(a))
    significant = p < fdr
    # log-symmetric: 5% slower is x1.05, 5% faster is /1.05
    if significant and high < 1.0 and ratio <= 1.0 / (1.0 + threshold):
        return FASTER, threshold
    if significant and low > 1.0 and ratio >= 1.0 + threshold:
        return SLOWER, threshold
    # no change worth the name: the estimate is within the threshold, and the interval rules out
    # a change of twice the minimum effect (3 repetitions a side give no narrower interval);
    # noisy samples whose interval is wide stay inconclusive, whatever their estimate
    band = 1.0 + 2 * min_effect
    if 1.0 / (1.0 + threshold) <= ratio <= 1.0 + threshold and 1.0 / band <= low and high <= band:
        return SAME, threshold
    return INCONCLUSIVE, threshold
