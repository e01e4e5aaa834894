"""`governor serve`: the web app and the embedded executor in one process (with --demo, a
simulated business living beside it)."""

import contextlib
import os
import secrets
from collections.abc import Iterator
from typing import TYPE_CHECKING

import typer

from governor.cli.output import console
from governor.cli.stopping import exit_past_abandoned_handlers

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from governor.config import Settings

DEMO_USER = "demo"


def serve(
    host: str | None = typer.Option(None, help="Address to bind (default: GOVERNOR_HOST)."),
    port: int | None = typer.Option(None, help="Port to listen on (default: GOVERNOR_PORT)."),
    demo: bool = typer.Option(
        False,
        "--demo/--no-demo",
        help="Write the demo business into an empty database and keep it living while serving.",
    ),
) -> None:
    """Check the schema, then serve the web app; refuse to start on schema drift."""
    import uvicorn

    from governor.cli.guarded import guarded_engine
    from governor.config import get_settings
    from governor.tracing import configure_tracing
    from governor.web.app import create_app

    settings = get_settings()
    engine = guarded_engine()
    bind, listen = host or settings.host, port or settings.port
    _refuse_public_bind_without_users(engine, bind, demo=demo)
    with _demo_business(engine, settings, listen) if demo else contextlib.nullcontext():
        settings = get_settings()  # the demo points Governor's Stripe client at its stand-in
        configure_tracing(engine, otlp_endpoint=settings.otlp_endpoint)
        try:
            uvicorn.run(
                create_app(settings),
                host=bind,
                port=listen,
                log_level="info",
                access_log=settings.access_log,
                # X-Forwarded-For names the client only when a proxy we trust sent it; uvicorn's
                # default would believe any local process, which then evades the sign-in limits.
                proxy_headers=bool(settings.proxy_networks()),
                forwarded_allow_ips=settings.proxy_networks(),
                timeout_graceful_shutdown=3,  # open live-update streams must not hold a stop long
            )
        except KeyboardInterrupt:  # uvicorn raises Ctrl-C again once it has stopped
            exit_past_abandoned_handlers(130)
            raise
    exit_past_abandoned_handlers(0)  # (after a SIGTERM uvicorn re-raises it: no wait either)


def _refuse_public_bind_without_users(engine: "Engine", bind: str, *, demo: bool) -> None:
    """Financial data behind a login nobody can pass is still exposed to brute force and
    mistakes: listen beyond this machine only once a user exists, and never for the demo,
    whose login is printed for anyone to read."""
    from governor.auth.service import has_users, is_loopback
    from governor.errors import ConfigError
    from governor.storage.db import session_scope

    if is_loopback(bind):
        return
    if demo:
        raise ConfigError(f"Refusing to serve the demo on {bind}: its login is printed.",
                          hint="Serve the demo on 127.0.0.1.")  # fmt: skip
    with session_scope(engine, readonly=True) as session:
        if has_users(session):
            return
    raise ConfigError(
        f"Refusing to serve on {bind}: nobody can sign in yet.",
        hint="Create a user first (`governor users create NAME`), or bind to 127.0.0.1.",
    )


@contextlib.contextmanager
def _demo_business(engine: "Engine", settings: "Settings", port: int) -> Iterator[None]:
    """Write the demo into an empty database, run its Stripe stand-in and its living business
    for as long as the block runs, and print how to sign in."""
    from governor.config import get_settings
    from governor.demo.business.history import business_counts, ensure_demo, is_demo
    from governor.demo.business.live import LiveBusiness, demo_environment, live_stand_in
    from governor.storage.db import session_scope

    with session_scope(engine, readonly=True) as session:
        real_data = any(business_counts(session).values()) and not is_demo(session)
    if real_data:
        console.print("[yellow]This database holds real business data: serving it without "
                      "the demo.[/yellow]")  # fmt: skip
        yield
        return
    stand_in = live_stand_in()
    stand_in.start()
    os.environ.update(demo_environment(stand_in.url))
    get_settings.cache_clear()
    settings = get_settings()
    if ensure_demo(engine, settings):
        console.print("Wrote the demo business: 90 days of history.")
    password = _demo_login(engine)
    url = f"http://127.0.0.1:{port}"
    live = LiveBusiness(settings, engine, f"{url}/webhooks/stripe", stand_in=stand_in).start()
    console.print(f"[bold]Governor demo[/bold] at {url} — sign in as [bold]{DEMO_USER}[/bold] "
                  f"with password [bold]{password}[/bold] (new at each start).")  # fmt: skip
    try:
        yield
    finally:
        live.stop()
        stand_in.stop()


def _demo_login(engine: "Engine") -> str:
    """Give the demo user a fresh random password (creating the user if needed)."""
    from governor.auth.service import create_user, find_user, set_password
    from governor.errors import NotFound
    from governor.storage.db import session_scope

    password = secrets.token_urlsafe(9)
    with session_scope(engine) as session:
        try:
            user = find_user(session, name=DEMO_USER)
        except NotFound:
            create_user(session, name=DEMO_USER, password=password)
        else:
            set_password(session, user_id=user.id, password=password)
    return password
