"""The Celery executor's worker side: the app, and the one Celery task that runs an attempt."""

import asyncio
import threading
from functools import lru_cache
from typing import Any

from celery import Celery

from governor.config import get_settings
from governor.storage.db import get_engine
from governor.tasks.batcher import Batcher
from governor.tasks.runner import Runner, worker_name

RUN_ATTEMPTS = "governor.run_attempts"
QUEUE = "governor"


def dispatch_lease_s(lease_s: float) -> float:
    """How long a dispatched attempt may wait in the queue before it is dispatched again."""
    return max(3 * lease_s, 5.0)


@lru_cache(maxsize=1)
def celery_app() -> Celery:
    """The Celery app for the configured broker (one per process)."""
    settings = get_settings()
    app = Celery("governor", broker=settings.broker_url, set_as_current=False)
    app.conf.update(
        # The message is acknowledged only once the attempt is recorded, and given back to the
        # queue if the worker process dies; the lease in the table decides who may finish it.
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        task_ignore_result=True,
        # Reserve no more messages than threads: a dead worker then strands no queued attempts.
        worker_prefetch_multiplier=1,
        task_default_queue=QUEUE,
        worker_hijack_root_logger=False,
        broker_connection_retry_on_startup=True,
        broker_transport_options={"visibility_timeout": 3600},
    )
    app.task(name=RUN_ATTEMPTS)(run_attempts)
    return app


@lru_cache(maxsize=1)
def _event_loop() -> asyncio.AbstractEventLoop:
    """One event loop per worker process, shared by its Celery threads (async handlers, I/O)."""
    loop = asyncio.new_event_loop()
    threading.Thread(target=loop.run_forever, name="governor-loop", daemon=True).start()
    return loop


@lru_cache(maxsize=1)
def _runner() -> tuple[Runner, Batcher]:
    settings = get_settings()
    runner = Runner(get_engine(), worker_name("celery"), settings.lease_seconds,
                    settings.max_concurrency)  # fmt: skip
    return runner, Batcher(runner.engine, runner.owner, runner.lease_s)


def run_attempts(attempts: list[list[Any]]) -> list[str]:
    """Take dispatched attempts over (not the stale ones), run them together, record them."""
    runner, batcher = _runner()
    claimed = batcher.take_over([(str(task_id), int(attempt)) for task_id, attempt in attempts])
    loop = _event_loop()
    running = [asyncio.run_coroutine_threadsafe(runner.execute(c), loop) for c in claimed]
    return batcher.record([future.result() for future in running])


def send(attempts: list[tuple[str, int]]) -> None:
    """Queue attempts for the workers, as one message."""
    celery_app().send_task(RUN_ATTEMPTS, args=[attempts], queue=QUEUE)
