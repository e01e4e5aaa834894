"""Task handlers for the benchmarks, loaded by worker processes through GOVERNOR_TASK_MODULES."""

import asyncio

import governor


@governor.task("bench.noop", max_attempts=1)
def noop(ctx):
    """Nothing: what remains is Governor's own cost per task."""
    return None


@governor.task("bench.io_wait", max_attempts=1)
async def io_wait(ctx):
    """Wait 100 ms on I/O, as an agent waiting on a model or an API does."""
    await asyncio.sleep(0.1)
