"""`governor worker`: a Celery worker that runs tasks queued by `governor serve`."""

import os
import socket
import threading
from functools import partial

import typer


def worker(
    concurrency: int | None = typer.Option(
        None, "--concurrency", "-c", help="Tasks run at once (default: GOVERNOR_MAX_CONCURRENCY)."
    ),
) -> None:
    """Check the schema, then run tasks from the broker (GOVERNOR_BROKER_URL) until stopped."""
    from celery.signals import worker_shutting_down

    from governor.cli.guarded import guarded_engine
    from governor.cli.stopping import exit_past_abandoned_handlers
    from governor.config import get_settings
    from governor.errors import ConfigError
    from governor.tasks.celery_app import celery_app, close_runner
    from governor.tracing import configure_tracing

    settings = get_settings()
    if concurrency is not None and concurrency < 1:
        raise ConfigError(f"--concurrency must be at least 1, not {concurrency}.")
    configure_tracing(guarded_engine(), otlp_endpoint=settings.otlp_endpoint)
    worker_shutting_down.connect(partial(_hand_back, settings.shutdown_grace_seconds), weak=False)
    try:
        celery_app().worker_main(_worker_arguments(concurrency or settings.max_concurrency))
    finally:
        close_runner()
        exit_past_abandoned_handlers(0)


def _hand_back(grace_s: float, **_signal: object) -> None:
    """On a warm shutdown (SIGTERM), hand running attempts back after the grace period."""
    from governor.tasks.celery_app import hand_back_after

    threading.Thread(target=hand_back_after, args=(grace_s,), name="governor-grace",
                     daemon=True).start()  # fmt: skip


def _worker_arguments(concurrency: int) -> list[str]:
    """Celery's worker options: threads, Governor's queue, a name unique to this process."""
    from governor.tasks.celery_app import QUEUE

    return [
        "worker",
        "--pool=threads",
        f"--concurrency={concurrency}",
        f"--queues={QUEUE}",
        f"--hostname=governor-{socket.gethostname()}-{os.getpid()}",
        "--loglevel=INFO",
        "--without-gossip",
        "--without-mingle",
    ]
