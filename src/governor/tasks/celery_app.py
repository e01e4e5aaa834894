"""The Celery executor's worker side: the app, and the one Celery task that runs an attempt."""

import asyncio
from functools import lru_cache
from typing import Any

from celery import Celery

from governor.config import get_settings
from governor.storage.db import get_engine, session_scope
from governor.tasks import leases
from governor.tasks.runner import Runner, worker_name

RUN_ATTEMPT = "governor.run_attempt"
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
    app.task(name=RUN_ATTEMPT)(run_attempt)
    return app


@lru_cache(maxsize=1)
def _runner() -> Runner:
    settings = get_settings()
    return Runner(
        get_engine(), worker_name("celery"), settings.lease_seconds, settings.max_concurrency
    )


def run_attempt(task_id: str, attempt: int) -> Any:
    """Take the dispatched attempt over (unless it is stale) and run it to its end."""
    runner = _runner()
    with session_scope(runner.engine) as session:
        claimed = leases.take_over(session, task_id, attempt, runner.owner, runner.lease_s)
    if claimed is None:
        return None  # an older copy of a message whose task was dispatched again
    return asyncio.run(runner.attempt(claimed))


def send(task_id: str, attempt: int) -> None:
    """Queue one attempt for the workers."""
    celery_app().send_task(RUN_ATTEMPT, args=[task_id, attempt], queue=QUEUE)
