"""Pure-Python CPU work: a loop that holds the GIL for its whole run."""

# what calibrate=true scales: task cost grows in proportion to it
SIZE = "n"


def run(i: int, n: int = 200_000) -> int:
    """Sum of squares below ``n``; ``i`` only keeps tasks distinct."""
    total = 0
    for k in range(n):
        total += k * k
    return total + i
