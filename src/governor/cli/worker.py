"""`governor worker`: a Celery worker that runs tasks queued by `governor serve`."""

import os
import socket

import typer


def worker(
    concurrency: int | None = typer.Option(
        None, "--concurrency", "-c", help="Tasks run at once (default: GOVERNOR_MAX_CONCURRENCY)."
    ),
) -> None:
    """Check the schema, then run tasks from the broker (GOVERNOR_BROKER_URL) until stopped."""
    from governor.cli.guarded import guarded_engine
    from governor.config import get_settings
    from governor.errors import ConfigError
    from governor.tasks.celery_app import QUEUE, celery_app
    from governor.tracing import configure_tracing

    settings = get_settings()
    if concurrency is not None and concurrency < 1:
        raise ConfigError(f"--concurrency must be at least 1, not {concurrency}.")
    configure_tracing(guarded_engine(), otlp_endpoint=settings.otlp_endpoint)
    celery_app().worker_main(
        [
            "worker",
            "--pool=threads",
            f"--concurrency={concurrency or settings.max_concurrency}",
            f"--queues={QUEUE}",
            f"--hostname=governor-{socket.gethostname()}-{os.getpid()}",
            "--loglevel=INFO",
            "--without-gossip",
            "--without-mingle",
        ]
    )
