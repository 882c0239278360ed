"""Compare two runs or sweeps cell by cell: ``python -m runner.compare DIR_A DIR_B``.

Cells are matched on their swept values (the columns that vary within either sweep);
columns constant within each but different between them (another interpreter,
another machine) are what the comparison is about and are printed as such.

What is compared (``--measure``). By default each repetition's *relative time*: 1 over
its speedup, which the sweep measured against a serial reference sampled all along it
(runner/core/pairing.py). A machine that runs everything 1.5x slower on the day of B (other
tenants, a throttled CPU) then changes no verdict, while a change in how an executor
scales does. The serial baselines themselves are listed with their raw wall-time ratio:
that is where a change of the machine, or of the workload's own code, shows.
``--measure wall_s`` compares raw wall times instead.

For each pair of cells: the ratio of medians B / A (below 1: B is faster), its bootstrap
95% confidence interval from the repetitions, a p-value (Welch's t-test on the logarithms
of the two samples: a ratio is a difference of logs), and a verdict. Many cells are
judged at once, so the p-values are adjusted for the false discovery rate
(Benjamini-Hochberg, ``--fdr``, default 5%). A cell is

- *faster* or *slower* when its adjusted p-value is below the rate, its CI excludes 1,
  and the ratio is beyond the minimum effect (default 5%) and beyond twice the noise of
  the ratio (the coefficients of variation of both samples in quadrature): a change
  smaller than the repetition-to-repetition noise is not a change;
- *no significant change* when, otherwise, the ratio is within that threshold and its CI
  within twice the minimum effect: the data rule out any change worth the name;
- *inconclusive* when neither: the estimate or its CI reaches past that, but the evidence
  for a change is too weak. A and B measured interleaved in one run (``--ab``, where both are
  configurations of one checkout) decide it; more repetitions of sweeps run apart do not, where
  the machine's speed moves between them.

Cells with fewer than 2 repetitions on a side cannot be judged (*too few repetitions*).
"""

from runner.compare.comparison import BASELINE, MEASURES, Comparison, compare
from runner.compare.output import display
from runner.compare.significance import (
    FASTER,
    INCONCLUSIVE,
    MIN_EFFECT,
    SAME,
    SLOWER,
    TOO_FEW,
    adjust,
    p_value,
    ratio_ci,
    verdict,
)

__all__ = [
    "BASELINE",
    "FASTER",
    "INCONCLUSIVE",
    "MEASURES",
    "MIN_EFFECT",
    "SAME",
    "SLOWER",
    "TOO_FEW",
    "Comparison",
    "adjust",
    "compare",
    "display",
    "p_value",
    "ratio_ci",
    "verdict",
]
