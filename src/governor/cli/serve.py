"""`governor serve`: the web app and the embedded executor in one process."""

from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine


def serve(
    host: str | None = typer.Option(None, help="Address to bind (default: GOVERNOR_HOST)."),
    port: int | None = typer.Option(None, help="Port to listen on (default: GOVERNOR_PORT)."),
) -> None:
    """Check the schema, then serve the web app; refuse to start on schema drift."""
    import uvicorn

    from governor.cli.guarded import guarded_engine
    from governor.config import get_settings
    from governor.tracing import configure_tracing
    from governor.web.app import create_app

    settings = get_settings()
    engine = guarded_engine()
    bind = host or settings.host
    _refuse_public_bind_without_users(engine, bind)
    configure_tracing(engine, otlp_endpoint=settings.otlp_endpoint)
    uvicorn.run(
        create_app(settings),
        host=bind,
        port=port or settings.port,
        log_level="info",
        access_log=settings.access_log,
        timeout_graceful_shutdown=3,  # open live-update streams must not hold a stop for long
    )


def _refuse_public_bind_without_users(engine: "Engine", bind: str) -> None:
    """Financial data behind a login nobody can pass is still exposed to brute force and
    mistakes: listen beyond this machine only once a user exists."""
    from governor.auth.service import has_users, is_loopback
    from governor.errors import ConfigError
    from governor.storage.db import session_scope

    if is_loopback(bind):
        return
    with session_scope(engine, readonly=True) as session:
        if has_users(session):
            return
    raise ConfigError(
        f"Refusing to serve on {bind}: nobody can sign in yet.",
        hint="Create a user first (`governor users create NAME`), or bind to 127.0.0.1.",
    )
