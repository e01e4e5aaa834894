"""The baseline: a bare Celery app with a no-op task that counts itself in Redis."""

import os

import redis
from celery import Celery

BROKER = os.environ.get("BARE_BROKER_URL", "redis://127.0.0.1:6379/1")
app = Celery("bare", broker=BROKER)
# The same delivery guarantees as Governor's Celery app, so only Governor's own work differs.
app.conf.update(
    task_acks_late=True,
    task_ignore_result=True,
    worker_prefetch_multiplier=1,
    worker_hijack_root_logger=False,
    broker_connection_retry_on_startup=True,
)
_counter = redis.Redis.from_url(BROKER)


@app.task(name="bare.noop")
def noop() -> None:
    """Nothing but a counter, so the benchmark knows when all have run."""
    _counter.incr("bare:done")
