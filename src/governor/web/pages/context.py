"""What every page shares: the navigation, the gate banner, the user, errors shown as pages."""

from collections.abc import Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, Response
from fastapi.routing import APIRoute
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from governor import __version__
from governor.alerts.service import list_alerts
from governor.analytics.period import Period, parse_period
from governor.errors import BadInput, GovernorError
from governor.storage.db import session_scope
from governor.tasks import gate
from governor.web.pages import tables
from governor.web.pages.tables import Table, csv_response, wants_csv
from governor.web.templating import templates


@dataclass(frozen=True)
class NavItem:
    """One entry of the top navigation."""

    section: str
    label: str
    path: str


NAV = (
    NavItem("overview", "Overview", "/"),
    NavItem("revenue", "Revenue", "/revenue"),
    NavItem("funnel", "Funnel", "/funnel"),
    NavItem("costs", "Costs", "/costs"),
    NavItem("tasks", "Tasks", "/tasks"),
    NavItem("alerts", "Alerts", "/alerts"),
    NavItem("audits", "Audits", "/audits"),
    NavItem("ideas", "Ideas", "/ideas"),
    NavItem("fulfilment", "Fulfilment", "/fulfilment"),
    NavItem("feedback", "Feedback", "/feedback"),
)

ALERT_BADGE_LIMIT = 100

for _name, _filter in {
    "money": tables.money,
    "usd_micros": tables.usd_micros,
    "duration": tables.duration,
    "span_duration": tables.micros_duration,
    "number": tables.number,
    "when": tables.when,
    "when_full": tables.when_full,
    "percent": tables.percent,
}.items():
    templates.env.filters[_name] = _filter
templates.env.globals["csv_url"] = tables.csv_url
templates.env.globals["url_with"] = tables.url_with


def schema_report(request: Request) -> dict[str, Any] | None:
    """The app's cached schema verdict (None when the app keeps no probe)."""
    probe = getattr(request.app.state, "health_probe", None)
    return None if probe is None else probe.schema()


def schema_ok(request: Request) -> bool:
    report = schema_report(request)
    return report is None or report.get("verdict") == "clean"


def chrome(request: Request, session: Session | None) -> dict[str, Any]:
    """The frame around every page: gate state, open alerts, user, CSRF token, navigation."""
    user = getattr(request.state, "user", None)
    frame: dict[str, Any] = {
        "nav": NAV,
        "version": __version__,
        "user_name": getattr(user, "name", None) or (user if isinstance(user, str) else None),
        "csrf": getattr(request.state, "csrf_token", None),
        "gate": None,
        "open_alerts": 0,
    }
    if session is None:
        return frame
    try:
        state = gate.status(session)
        frame["gate"] = state
        frame["open_alerts"] = len(list_alerts(session, status="open", limit=ALERT_BADGE_LIMIT))
    except SQLAlchemyError:  # a drifted schema: the page says so instead of the banner
        frame["gate"] = None
    return frame


def render(
    request: Request,
    template: str,
    context: Mapping[str, Any],
    *,
    section: str,
    session: Session | None = None,
    status_code: int = 200,
    title: str | None = None,
) -> HTMLResponse:
    """A page inside the shared frame; opens its own read-only session for the frame if needed."""
    if session is None and schema_ok(request):
        with session_scope(readonly=True) as own:
            frame = chrome(request, own)
    else:
        frame = chrome(request, session)
    body = {**frame, **context, "section": section, "page_title": title}
    return templates.TemplateResponse(request, template, body, status_code=status_code)


def respond(
    request: Request,
    template: str,
    context: Mapping[str, Any],
    *,
    section: str,
    tables: Sequence[Table],
    stem: str,
    session: Session | None = None,
    title: str | None = None,
) -> Response:
    """A page, or one of its tables as CSV when the request says `format=csv`."""
    if wants_csv(request):
        return csv_response(tables, request, stem=stem)
    return render(request, template, context, section=section, session=session, title=title)


def error_page(request: Request, error: GovernorError) -> HTMLResponse:
    """A GovernorError as a page with its status: what is wrong and what to do."""
    return render(
        request,
        "error.html",
        {"error": error, "status": error.http_status},
        section="",
        status_code=error.http_status,
        title=_ERROR_TITLES.get(error.http_status, "Error"),
    )


_ERROR_TITLES = {400: "Bad request", 404: "Not found", 503: "Unavailable"}


def validation_error(error: RequestValidationError) -> BadInput:
    """A request FastAPI could not read, as a 400 naming each parameter and what it must be."""
    parts = []
    for item in error.errors():
        where = ".".join(str(p) for p in item.get("loc", ()) if p not in ("query", "path"))
        parts.append(f"'{where}': {item.get('msg', 'invalid')}")
    return BadInput("Bad request: " + "; ".join(parts) + ".")


class PageRoute(APIRoute):
    """A route whose user errors render as a page, and whose failed queries name a drift.

    The schema is only checked when a query failed, so pages cost no schema check while
    the database is healthy (the overview shows the schema's state in its System section).
    """

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def page(request: Request) -> Response:
            try:
                return await handler(request)
            except GovernorError as error:
                return await run_in_threadpool(error_page, request, error)
            except RequestValidationError as error:
                return await run_in_threadpool(error_page, request, validation_error(error))
            except SQLAlchemyError:
                if await run_in_threadpool(schema_ok, request):
                    raise
                return await run_in_threadpool(_drift_page, request)

        return page


class SchemaNotReady(GovernorError):
    """The database schema is not the code's: pages that read it wait for `db upgrade`."""

    http_status = 503


def _drift_page(request: Request) -> HTMLResponse:
    report = schema_report(request) or {}
    return render(
        request,
        "error.html",
        {
            "error": SchemaNotReady(
                f"The database is not ready: schema {report.get('verdict', 'unknown')}.",
                hint="The overview lists the problems; run: governor db upgrade",
            ),
            "status": 503,
            "schema": report,
        },
        section="",
        status_code=503,
        title="Database not ready",
    )


# --- the period a page shows ------------------------------------------------------------------

RANGES = (("24h", "24 h"), ("7d", "7 days"), ("30d", "30 days"), ("90d", "90 days"))
_PERIOD_KEYS = ("range", "since", "until", "grain")


@dataclass(frozen=True)
class Choice:
    """One button of the period picker."""

    label: str
    href: str
    active: bool


@dataclass(frozen=True)
class Picker:
    """The period picker: its buttons and the period it shows, in words."""

    choices: list[Choice]
    label: str


def period_from(request: Request, *, optional: bool = False) -> Period | None:
    """The period the query string asks for (30 days by default; none if `optional`)."""
    get = request.query_params.get
    if optional and not any(get(k) for k in ("range", "since", "until")):
        return None
    return parse_period(range=get("range") or None, since=get("since") or None,
                        until=get("until") or None, grain=get("grain") or None)  # fmt: skip


def period_params(period: Period | None) -> dict[str, str]:
    """Query parameters that reproduce a period in a link (none for no period)."""
    return {} if period is None else period.query()


def picker(request: Request, period: Period | None, *, optional: bool = False) -> Picker:
    """The period picker for the current URL."""
    current = period.range if period is not None else None
    clear = {k: None for k in (*_PERIOD_KEYS, "offset")}
    choices = [
        Choice(label, tables.url_with(request, **{**clear, "range": key}), key == current)
        for key, label in RANGES
    ]
    if optional:
        choices.insert(0, Choice("All", tables.url_with(request, **clear), period is None))
    return Picker(choices, describe_period(period))


def describe_period(period: Period | None) -> str:
    """A period in words: "2024-04-02 → 2024-05-01 14:05 UTC, by day"."""
    if period is None:
        return "all time"
    fmt = "%Y-%m-%d %H:%M" if period.grain == "hour" else "%Y-%m-%d"
    end = period.end.strftime("%Y-%m-%d %H:%M")
    return f"{period.start.strftime(fmt)} → {end} UTC · by {period.grain}"
