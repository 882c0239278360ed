"""Near-empty tasks: what is left is the cost of dispatching a task and its result."""


def run(i: int) -> int:
    return i


async def run_async(i: int) -> int:
    return i
