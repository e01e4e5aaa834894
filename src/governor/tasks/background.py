"""What `serve` runs beside the web app: the schedules, and the embedded executor or dispatcher."""

import asyncio
import contextlib
import logging

from sqlalchemy.engine import Engine

from governor.config import Settings
from governor.models.types import utcnow
from governor.storage.db import get_engine, session_scope
from governor.tasks.outage import Outage
from governor.tasks.schedule import enqueue_due

log = logging.getLogger(__name__)

SCHEDULE_CHECK_S = 10.0
"""How often due periodic system tasks are looked for (their periods are minutes or more)."""


async def run_scheduler(settings: Settings, stop: asyncio.Event) -> None:
    """Run tasks here (embedded) or queue them for Celery workers, until `stop` is set."""
    engine = get_engine(settings.database_url)
    periodic = asyncio.create_task(_enqueue_periodic(engine, settings, stop))
    try:
        await _run_tasks(engine, settings, stop)
    finally:
        stop.set()
        await periodic


async def _run_tasks(engine: Engine, settings: Settings, stop: asyncio.Event) -> None:
    if settings.executor == "celery":
        from governor.tasks.dispatcher import Dispatcher

        await Dispatcher(engine, lease_s=settings.lease_seconds).run(stop)
        return
    from governor.tasks.embedded import EmbeddedExecutor

    executor = EmbeddedExecutor(engine, concurrency=settings.max_concurrency,
                                lease_s=settings.lease_seconds,
                                grace_s=settings.shutdown_grace_seconds)  # fmt: skip
    try:
        await executor.run(stop)
    finally:
        executor.close()


async def _enqueue_periodic(engine: Engine, settings: Settings, stop: asyncio.Event) -> None:
    """Submit each schedule's run for the current period, now and every few seconds."""
    outage = Outage("enqueuing periodic system tasks", log)
    while not stop.is_set():
        try:
            await asyncio.to_thread(_enqueue_once, engine, settings)
        except Exception as error:  # a database hiccup: the next check tries again
            outage.failed(error)
        else:
            outage.succeeded()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), SCHEDULE_CHECK_S)


def _enqueue_once(engine: Engine, settings: Settings) -> None:
    with session_scope(engine) as session:
        enqueue_due(session, settings, utcnow())
