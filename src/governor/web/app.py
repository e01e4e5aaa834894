"""The FastAPI application: health, the first page, and GovernorError as JSON."""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse

from governor import __version__, jobs
from governor.config import Settings
from governor.errors import GovernorError
from governor.storage.db import get_engine, session_scope
from governor.tasks import gate
from governor.tasks.background import run_scheduler
from governor.tasks.service import counts_by_status
from governor.web.health import HealthProbe
from governor.web.templating import templates
from governor.web.webhooks import StripeWebhooks


def _gate_state() -> dict[str, object]:
    with session_scope(readonly=True) as session:
        return gate.status(session).to_dict()


def _task_counts() -> dict[str, int]:
    with session_scope(readonly=True) as session:
        return counts_by_status(session)


@asynccontextmanager
async def _scheduler(settings: Settings) -> AsyncIterator[None]:
    """Run the task scheduler beside the web app for as long as the app runs."""
    stop = asyncio.Event()
    running = asyncio.create_task(run_scheduler(settings, stop))
    try:
        yield
    finally:
        stop.set()
        await running


def create_app(settings: Settings) -> FastAPI:
    """Build the web app for the configured database."""
    jobs.load()
    engine = get_engine(settings.database_url)
    # Governor traces tasks, not requests: FastAPI's own telemetry would cost every request.
    app = FastAPI(title="Governor", version=__version__, lifespan=lambda _app: _scheduler(settings),
                  telemetry={"tracing": False, "metrics": False, "logs": False})  # fmt: skip
    probe = HealthProbe(engine, settings.health_cache_seconds)
    app.add_middleware(StripeWebhooks, settings=settings, engine=engine)

    @app.exception_handler(GovernorError)
    async def governor_error(_request: Request, error: GovernorError) -> JSONResponse:
        return JSONResponse(error.to_dict(), status_code=error.http_status)

    @app.get("/healthz")
    def healthz() -> JSONResponse:
        """Liveness and schema state; 503 when the schema drifted or the database is down."""
        schema = probe.schema()
        ok = schema["verdict"] == "clean"
        body = {"status": "ok" if ok else "degraded", "version": __version__, "schema": schema,
                "gate": _gate_state() if ok else None}  # fmt: skip
        return JSONResponse(body, status_code=200 if ok else 503)

    @app.get("/", response_class=HTMLResponse)
    def index(request: Request) -> HTMLResponse:
        """What Governor is and the state it is in."""
        schema = probe.schema()
        clean = schema["verdict"] == "clean"
        context = {"schema": schema, "version": __version__,
                   "counts": _task_counts() if clean else {},
                   "gate": _gate_state() if clean else None}  # fmt: skip
        return templates.TemplateResponse(request, "index.html", context)

    return app
