"""Audits: the FSAR reports (list, trend, one report with its checks), and reopening the gate."""

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse, RedirectResponse, Response

from governor.audits.fsar import render_markdown
from governor.audits.service import get_report, list_reports, to_report
from governor.errors import BadInput
from governor.storage.db import session_scope
from governor.tasks import gate
from governor.web.auth import safe_next
from governor.web.pages.charts import layout, line
from governor.web.pages.context import PageRoute, respond
from governor.web.pages.tables import Column, Table, script_json

router = APIRouter(route_class=PageRoute)
PAGE_LIMIT = 200


def report_columns() -> list[Column]:
    return [
        Column("id", "Report", "code", href=lambda r: f"/audits/{r.id}"),
        Column("created_at", "When", "datetime"),
        Column("passed", "Verdict", "status", get=lambda r: "passed" if r.passed else "failed"),
        Column("severity", "Severity", "int"),
        Column("block_execution", "Blocked", get=lambda r: "yes" if r.block_execution else "no"),
        Column("origin", "Origin"),
    ]


@router.get("/audits")
def audits_page(request: Request) -> Response:
    """Every stored report, newest first, with severity and verdicts over time."""
    with session_scope(readonly=True) as session:
        reports = list_reports(session, limit=PAGE_LIMIT)
        table = Table(
            "audits",
            report_columns(),
            reports,
            title="FSAR reports",
            empty="No audit yet: run `governor audit run`.",
        )
        oldest_first = list(reversed(reports))
        times = [r.created_at for r in oldest_first]
        links = [f"/audits/{r.id}" for r in oldest_first]
        trend = {
            "data": [
                line(
                    "Severity",
                    times,
                    [float(r.severity) for r in oldest_first],
                    [f"severity {r.severity}" for r in oldest_first],
                    links,
                    "#dc2626",
                ),
                line(
                    "Failing checks",
                    times,
                    [float(_failing(r.findings)) for r in oldest_first],
                    [f"{_failing(r.findings)} failing" for r in oldest_first],
                    links,
                    "#6366f1",
                ),
            ],
            "layout": layout(""),
        }
        context = {"table": table, "trend_json": script_json(trend), "has_trend": bool(reports)}
        return respond(
            request,
            "audits.html",
            context,
            section="audits",
            tables=[table],
            stem="audits",
            session=session,
            title="Audits",
        )


def _failing(findings: Any) -> int:
    return sum(not item.get("passed", False) for item in findings or [])


@router.get("/audits/{report_id}.md")
def report_markdown(report_id: str) -> Response:
    """The report in the seed's Markdown form."""
    with session_scope(readonly=True) as session:
        text = render_markdown(to_report(get_report(session, report_id)))
    return PlainTextResponse(text, media_type="text/markdown; charset=utf-8")


@router.get("/audits/{report_id}")
def report_page(request: Request, report_id: str) -> Response:
    """One report: its verdict, proposal, risks, mitigations and every check's evidence."""
    with session_scope(readonly=True) as session:
        record = get_report(session, report_id)
        checks = Table(
            "checks",
            [
                Column("name", "Check", "code"),
                Column(
                    "passed",
                    "Verdict",
                    "status",
                    get=lambda c: "passed" if c["passed"] else "failed",
                ),
                Column("severity", "Severity", "int"),
                Column("summary", "Finding", wrap=True),
                Column("hard", "Hard gate", get=lambda c: "yes" if c.get("hard") else ""),
            ],
            record.findings or [],
            title="Checks",
            empty="An imported report: no checks.",
        )
        context = {
            "report": record,
            "checks": checks,
            "closed_by_it": gate.status(session).report_id == record.id,
        }
        return respond(
            request,
            "audit.html",
            context,
            section="audits",
            tables=[checks],
            stem=f"checks-{record.id}",
            session=session,
            title=record.id,
        )


@router.post("/gate/resume")
async def resume_gate(request: Request) -> Response:
    """Reopen the gate, acknowledging the report that closed it (CSRF-checked like every form)."""
    form = await request.form()
    ack = str(form.get("ack") or "") or None
    reason = str(form.get("reason") or "").strip() or None
    user = getattr(request.state, "user", None)
    actor = getattr(user, "name", None) or "dashboard"
    with session_scope() as session:
        state = gate.resume(session, actor=actor, ack=ack, reason=reason)
    if not state.open:
        raise BadInput("The gate did not open.")
    return RedirectResponse(safe_next(str(form.get("next") or "")), status_code=303)
