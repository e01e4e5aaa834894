"""The Celery executor's worker side: the app, and the one Celery task that runs an attempt."""

import asyncio
import concurrent.futures
import logging
import threading
import time
from functools import lru_cache
from typing import Any

from celery import Celery

from governor.config import get_settings
from governor.storage.db import get_engine
from governor.tasks import leases
from governor.tasks.batcher import Batcher
from governor.tasks.runner import Runner, worker_name

RUN_ATTEMPTS = "governor.run_attempts"
QUEUE = "governor"
log = logging.getLogger("governor.tasks")

_running: dict["concurrent.futures.Future[leases.Outcome]", str] = {}  # attempt → its task id
_running_lock = threading.Lock()


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
    running = {asyncio.run_coroutine_threadsafe(runner.execute(c), loop): c.id for c in claimed}
    with _running_lock:
        _running.update(running)
    try:
        concurrent.futures.wait(running)
    finally:
        with _running_lock:
            for future in running:
                _running.pop(future, None)
    interrupted = [task_id for future, task_id in running.items() if future.cancelled()]
    if interrupted:
        batcher.hand_back(interrupted)
    return batcher.record([future.result() for future in running if not future.cancelled()])


def hand_back_after(grace_s: float) -> None:
    """At a stop: let running attempts end for `grace_s`, then interrupt and hand back the rest.

    Runs in a thread of its own, so that Celery's warm shutdown goes on meanwhile: the
    interrupted attempts' messages are acknowledged and their tasks are pending again at once.
    """
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline:
        with _running_lock:
            if not _running:
                return
        time.sleep(0.05)
    with _running_lock:
        late = dict(_running)
    log.warning("handing back %d task(s) still running after %g s, to run again at once: %s",
                len(late), grace_s, ", ".join(late.values()))  # fmt: skip
    for future in late:
        future.cancel()


def close_runner() -> None:
    """Stop the worker's runner (its sync handlers still running are counted as abandoned)."""
    if _runner.cache_info().currsize:
        _runner()[0].close()


def send(attempts: list[tuple[str, int]]) -> None:
    """Queue attempts for the workers, as one message."""
    celery_app().send_task(RUN_ATTEMPTS, args=[attempts], queue=QUEUE)
