"""A workload from outside the lab: Collatz steps of numbers from ``start``, a pure-Python loop."""


def run(i: int, start: int = 1, count: int = 1000) -> int:
    steps = 0
    for n in range(start + i, start + i + count):
        while n != 1:
            n = n // 2 if n % 2 == 0 else 3 * n + 1
            steps += 1
    return steps
