"""The FastAPI application: health, the pages, the API, and GovernorError as JSON."""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST

from governor import __version__, jobs
from governor.auth.secret import signing_key
from governor.config import Settings
from governor.errors import GovernorError
from governor.storage.db import get_engine, session_scope
from governor.tasks import gate
from governor.tasks.background import run_scheduler
from governor.web import api, auth, feedback, friction_api, funnel_api, pages, track
from governor.web.auth import RequireLogin
from governor.web.health import HealthProbe, signed_in
from governor.web.metrics import registry_for, render
from governor.web.pages.context import validation_error
from governor.web.security import SecurityHeaders
from governor.web.webhooks import StripeWebhooks


def _gate_state() -> dict[str, object]:
    with session_scope(readonly=True) as session:
        return gate.status(session).to_dict()


def _unhealthy(verdict: str, writable: bool) -> str | None:
    """Why the instance should leave the load balancer's rotation, in a few words (None: ok)."""
    if verdict == "unreachable":
        return "database unreachable"
    if verdict != "clean":
        return "schema drift"
    return None if writable else "database not writable"


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
                  telemetry={"tracing": False, "metrics": False, "logs": False},
                  openapi_url="/api/openapi.json", docs_url="/api/docs",
                  redoc_url=None)  # fmt: skip
    probe = HealthProbe(engine, settings.health_cache_seconds)
    app.add_middleware(StripeWebhooks, settings=settings, engine=engine)
    # Every route needs a signed-in user or a token, but for an explicit few (web/auth.py).
    signing_key(settings)  # refuse a bad GOVERNOR_SECRET_KEY now, not at the first request
    app.add_middleware(RequireLogin, settings=settings, engine=engine)
    # Outermost: its headers go on every answer, sign-in refusals and webhooks included.
    app.add_middleware(SecurityHeaders)
    app.include_router(auth.router)
    app.include_router(api.router)
    app.include_router(track.router)
    app.include_router(funnel_api.router)
    app.include_router(friction_api.router)  # /api/fulfilment/…
    feedback.install(app, settings)  # the customers' /f/… page and /api/feedback
    metrics_registry = registry_for(engine)

    @app.get("/metrics", include_in_schema=False)
    def metrics() -> Response:
        """Prometheus' scrape endpoint."""
        return Response(render(metrics_registry), media_type=CONTENT_TYPE_LATEST)

    @app.exception_handler(GovernorError)
    async def governor_error(_request: Request, error: GovernorError) -> JSONResponse:
        return JSONResponse(error.to_dict(), status_code=error.http_status)

    @app.exception_handler(RequestValidationError)
    async def bad_request(request: Request, error: RequestValidationError) -> JSONResponse:
        return await governor_error(request, validation_error(error))

    @app.get("/healthz")
    def healthz(request: Request) -> JSONResponse:
        """Status, schema verdict and gate for anyone (a load balancer); 503 when the schema
        drifted or the database is down or not writable. Signed in: the details too."""
        schema, database = probe.schema(), probe.database()
        reason = _unhealthy(schema["verdict"], database["writable"])
        body: dict[str, object] = {"status": "degraded" if reason else "ok", "reason": reason,
                                   "schema": {"verdict": schema["verdict"]},
                                   "gate": _gate_state() if schema["verdict"] == "clean"
                                   else None}  # fmt: skip
        if signed_in(request):
            body.update(version=__version__, schema=schema, database=database)
        return JSONResponse(body, status_code=503 if reason else 200)

    app.state.health_probe = probe  # the overview shows the schema; failed queries name drift
    app.include_router(pages.router, include_in_schema=False)
    pages.mount_static(app)

    return app
