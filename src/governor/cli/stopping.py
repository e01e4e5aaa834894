"""Ending a process that handed its running tasks back: without waiting for their threads."""

import os

from governor.cli.output import console


def exit_past_abandoned_handlers(code: int) -> None:
    """End the process now (with `code`) if task handlers it gave up on still run in threads.

    Their tasks were handed back already; Python would otherwise wait for those threads at
    exit, however long the handlers take, and outlast a supervisor's grace period.
    """
    import logging
    import sys

    from governor.tasks.runner import handlers_left_running
    from governor.tracing import shutdown_tracing

    left = handlers_left_running()
    if not left:
        return
    shutdown_tracing()  # the spans of the tasks that did finish are written
    console.print(f"Stopped with {left} task handler(s) still running; their tasks were "
                  "handed back to run again.")  # fmt: skip
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
