"""Pure-Python CPU work: a loop that holds the GIL for its whole run."""

# what calibrate=true scales: task cost grows in proportion to it
SIZE = "n"


def run(i: int, n: int = 200_000) -> int:
    """Sum of squares below ``n``; ``i`` only keeps tasks distinct."""
    total = 0
    for k in range(n):
        total += k * k
    return total + i


async def run_async(i: int, n: int = 200_000) -> int:
    """The same loop in a coroutine: it never awaits, so it blocks the event loop throughout."""
    return run(i, n)
