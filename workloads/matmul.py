"""numpy matrix products: native code with its own thread pool (OpenBLAS, MKL, ...).

numpy releases the GIL inside a product and its BLAS runs a pool of threads of its own,
so one task can keep several CPUs busy, and workers x BLAS threads can oversubscribe
the machine. numpy is imported by the cells that run this workload, and only by them.
"""

from __future__ import annotations

from functools import cache

# at the top: the worker limits its pools (native_threads) once the module is imported
import numpy as np

# what calibrate=true scales: task cost grows in proportion to it
SIZE = "rounds"


@cache
def _matrices(n: int) -> tuple[np.ndarray, np.ndarray]:
    # built once per worker, outside the timed work of every task after the first;
    # fixed seed: every worker multiplies the same numbers
    rng = np.random.default_rng(0)
    return rng.random((n, n)), rng.random((n, n))


def setup(n: int = 400, rounds: int = 4) -> None:
    """Import numpy and build the matrices in the cell, before its pool starts: forked workers
    inherit both instead of paying them inside their first task (spawned ones still do)."""
    _matrices(n)


def run(i: int, n: int = 400, rounds: int = 4) -> float:
    """Multiply two n x n float64 matrices ``rounds`` times; returns the last product's trace."""
    a, b = _matrices(n)
    product = a
    for _ in range(rounds):
        product = a @ b
    return float(product.trace())
