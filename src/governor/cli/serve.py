"""`governor serve`: the web app and the embedded executor in one process."""

import typer


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
    configure_tracing(guarded_engine(), otlp_endpoint=settings.otlp_endpoint)
    uvicorn.run(
        create_app(settings),
        host=host or settings.host,
        port=port or settings.port,
        log_level="info",
        access_log=settings.access_log,
    )
