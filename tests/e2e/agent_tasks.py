"""Task handlers that the end-to-end tests load into real Governor processes."""

import os
import time
from pathlib import Path

import governor


@governor.task("slow_step", max_attempts=5, backoff=0.05)
def slow_step(ctx):
    """Work for `seconds`, writing a start and an end line to `log` (one line per event)."""
    log = Path(ctx.input["log"])
    with log.open("a") as out:
        out.write(f"start {ctx.task_id} {ctx.attempt} {ctx.idempotency_key} {os.getpid()}\n")
    deadline = time.monotonic() + ctx.input["seconds"]
    while time.monotonic() < deadline and not ctx.cancelled():
        time.sleep(0.02)
    with log.open("a") as out:
        out.write(f"end {ctx.task_id} {ctx.attempt} {os.getpid()}\n")
    return {"pid": os.getpid()}


@governor.task("quick_step", max_attempts=2)
def quick_step(ctx):
    """Return at once: a backlog of these shows the cost per message."""
    return ctx.input
