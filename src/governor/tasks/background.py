"""What `serve` runs beside the web app: the embedded executor, or the Celery dispatcher."""

import asyncio

from governor.config import Settings
from governor.storage.db import get_engine


async def run_scheduler(settings: Settings, stop: asyncio.Event) -> None:
    """Run tasks here (embedded) or queue them for Celery workers, until `stop` is set."""
    engine = get_engine(settings.database_url)
    if settings.executor == "celery":
        from governor.tasks.dispatcher import Dispatcher

        await Dispatcher(engine, lease_s=settings.lease_seconds).run(stop)
        return
    from governor.tasks.embedded import EmbeddedExecutor

    executor = EmbeddedExecutor(
        engine, concurrency=settings.max_concurrency, lease_s=settings.lease_seconds
    )
    try:
        await executor.run(stop)
    finally:
        executor.close()
