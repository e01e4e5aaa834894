"""`governor serve`: the web app (and, later, the scheduler) in one process."""

import typer


def serve(
    host: str | None = typer.Option(None, help="Address to bind (default: GOVERNOR_HOST)."),
    port: int | None = typer.Option(None, help="Port to listen on (default: GOVERNOR_PORT)."),
) -> None:
    """Check the schema, then serve the web app; refuse to start on schema drift."""
    import uvicorn

    from governor.config import get_settings
    from governor.storage.db import get_engine
    from governor.storage.guard import require_clean_schema
    from governor.web.app import create_app

    settings = get_settings()
    require_clean_schema(get_engine())
    uvicorn.run(
        create_app(settings),
        host=host or settings.host,
        port=port or settings.port,
        log_level="info",
    )
