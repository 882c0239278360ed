"""Part CPU, part waiting: ``cpu_fraction`` moves a task between the cpu and sleep workloads.

At 0 a task only sleeps ``seconds``; at 1 it only loops ``n`` times; in between it
does that fraction of the loop and sleeps for the rest. The defaults make both ends
take about as long on a recent machine.
"""

import asyncio

from workloads import cpu, sleep


def _split(cpu_fraction: float, n: int, seconds: float) -> tuple[int, float]:
    if not 0.0 <= cpu_fraction <= 1.0:
        raise ValueError(f"cpu_fraction={cpu_fraction}: expected a number between 0 and 1")
    return round(n * cpu_fraction), seconds * (1.0 - cpu_fraction)


def run(i: int, cpu_fraction: float = 0.5, n: int = 200_000, seconds: float = 0.01) -> int:
    loops, wait = _split(cpu_fraction, n, seconds)
    cpu.run(i, loops)
    return sleep.run(i, wait)


async def run_async(i: int, cpu_fraction: float = 0.5, n: int = 200_000, seconds: float = 0.01) -> int:
    loops, wait = _split(cpu_fraction, n, seconds)
    cpu.run(i, loops)
    await asyncio.sleep(wait)
    return i
