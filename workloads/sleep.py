"""Waiting work: time.sleep releases the GIL, as IO does."""

import asyncio
import time

# what calibrate=true scales: task cost grows in proportion to it
SIZE = "seconds"


def run(i: int, seconds: float = 0.02) -> int:
    time.sleep(seconds)
    return i


async def run_async(i: int, seconds: float = 0.02) -> int:
    await asyncio.sleep(seconds)
    return i
