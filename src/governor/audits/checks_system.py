"""Checks of the system itself: the schema, the newest backup (really restored), the
monitors' open alerts, and whether alerts reach anyone."""

import sqlalchemy as sa

from governor.alerts.destinations import destinations
from governor.audits.checks import AuditContext, CheckResult, check
from governor.models import Alert, AlertDelivery
from governor.storage.backup import inspect_backup, list_backups, load_backup
from governor.storage.scratch import scratch_database
from governor.tasks.schedule import parse_period

COMPARED = ("ledger_entries", "execution_tasks", "orders", "stripe_events")
"""Tables whose rows a restored backup is compared on (they only grow)."""


@check("schema")
def schema(context: AuditContext) -> CheckResult:
    """The database's schema is the code's: every table, column, index and trigger."""
    report = context.schema
    evidence = {
        "revision": report.revision,
        "head": report.head,
        "pending": report.pending,
        "problems": [str(p) for p in report.problems],
    }
    if report.clean:
        return CheckResult(
            "schema",
            True,
            0,
            f"The schema matches the code at revision {report.revision}.",
            evidence,
        )
    named = "; ".join(p.object + ": " + p.message for p in report.problems[:5])
    return CheckResult(
        "schema",
        False,
        9,
        f"The database differs from the code in {len(report.problems)} place(s): {named}.",
        evidence,
        hard=True,
        action="Back up, then run `governor db upgrade` (or restore the newest backup) so the "
        "database matches the code; keep agent tasks stopped until then.",
        risk="Every task touching a missing column fails, as `execution_tasks.ai_model` once "
        "broke every task in production.",
    )


@check("backup", needs=COMPARED)
def backup(context: AuditContext) -> CheckResult:
    """The newest backup exists, is fresh, and restores into a scratch database whose rows
    are no more than the live database holds."""
    found = list_backups(context.settings.backup_dir)
    if not found:
        return CheckResult(
            "backup",
            False,
            7,
            f"No backup in {context.settings.backup_dir}.",
            {"folder": str(context.settings.backup_dir)},
            action="Run `governor db backup` and schedule it.",
            risk="A failed migration or a lost disk could not be undone.",
        )
    newest = inspect_backup(found[-1])
    age = context.now - newest.created_at
    max_age = parse_period(context.settings.audit_backup_max_age, "GOVERNOR_AUDIT_BACKUP_MAX_AGE")
    with scratch_database(context.engine) as scratch:
        load_backup(scratch, newest)
        restored = _counts(scratch)
    live = _counts(context.engine)
    lost = {t: (restored[t], live.get(t, 0)) for t in restored if restored[t] > live.get(t, 0)}
    evidence = {
        "path": str(newest.path),
        "revision": newest.revision,
        "age_hours": round(age.total_seconds() / 3600, 1),
        "restored_rows": restored,
        "live_rows": live,
    }
    if lost:
        return CheckResult(
            "backup",
            False,
            8,
            "The database holds fewer rows than its newest "
            "backup in "
            + ", ".join(f"{t} ({b} in the backup, {n} now)" for t, (b, n) in lost.items())
            + ".",
            evidence,
            hard=True,
            action="Find what deleted the rows; restore them from the backup.",
            risk="Rows that only ever grow have gone: data is being lost.",
        )
    if age > max_age:
        return CheckResult(
            "backup",
            False,
            6,
            f"The newest backup is {evidence['age_hours']} h "
            f"old (limit {context.settings.audit_backup_max_age}).",
            evidence,
            action="Run `governor db backup` on a schedule.",
            risk="A restore would lose everything since then.",
        )
    return CheckResult(
        "backup",
        True,
        0,
        f"The newest backup ({evidence['age_hours']} h old) "
        f"restored into a scratch database with {sum(restored.values())} rows "
        "in the compared tables.",
        evidence,
    )


def _counts(engine: sa.Engine) -> dict[str, int]:
    with engine.connect() as connection:
        tables = set(sa.inspect(connection).get_table_names())
        return {
            t: connection.execute(sa.text(f"SELECT COUNT(*) FROM {t}")).scalar_one()
            for t in COMPARED
            if t in tables
        }


@check("open_monitor_alerts", needs=("alerts",))
def open_monitor_alerts(context: AuditContext) -> CheckResult:
    """Anomalies and drifts the monitors raised that nobody has resolved."""
    with context.reading() as session:
        query = (
            sa.select(Alert)
            .where(Alert.kind.in_(("anomaly", "drift")), Alert.status != "resolved")
            .order_by(Alert.severity.desc(), Alert.last_seen.desc())
        )
        open_ = list(session.scalars(query))
    evidence = {
        "open": len(open_),
        "alerts": [
            {
                "id": a.id,
                "kind": a.kind,
                "status": a.status,
                "severity": a.severity,
                "count": a.count,
                "title": a.title,
            }
            for a in open_[:10]
        ],
    }
    if not open_:
        return CheckResult("open_monitor_alerts", True, 0, "No anomaly or drift is open.", evidence)
    return CheckResult(
        "open_monitor_alerts",
        False,
        max(a.severity for a in open_),
        f"{len(open_)} anomaly or drift alert(s) are open; the worst: {open_[0].title}",
        evidence,
        action="Look at each one's drill-down; fix the cause, then resolve it.",
        risk="Unresolved signals become noise that hides the next real one.",
    )


@check("alert_delivery", needs=("alert_deliveries",))
def alert_delivery(context: AuditContext) -> CheckResult:
    """Alerts reach a person: destinations are configured, and none failed on its last try."""
    configured = [d.name for d in destinations(context.settings)]
    if not configured:
        return CheckResult(
            "alert_delivery",
            False,
            4,
            "No alert destination is configured: alerts reach "
            "nobody unless someone opens the dashboard.",
            {"destinations": []},
            action="Set GOVERNOR_ALERT_URLS (Apprise URLs: Slack, e-mail, a webhook…) and run "
            "`governor alerts test`.",
            risk="A failing audit or missing money waits, unseen, for someone to look.",
        )
    with context.reading() as session:
        latest = (
            sa.select(AlertDelivery.destination, sa.func.max(AlertDelivery.finished_at).label("at"))
            .group_by(AlertDelivery.destination)
            .subquery()
        )
        last = session.execute(
            sa.select(AlertDelivery.destination, AlertDelivery.status, AlertDelivery.error).join(
                latest,
                sa.and_(
                    AlertDelivery.destination == latest.c.destination,
                    AlertDelivery.finished_at == latest.c.at,
                ),
            )
        ).all()
    failing = {d: e for d, s, e in last if s != "delivered" and d in configured}
    evidence = {
        "destinations": configured,
        "last_result": {d: s for d, s, _ in last if d in configured},
    }
    if failing:
        return CheckResult(
            "alert_delivery",
            False,
            6,
            f"{len(failing)} of {len(configured)} alert "
            f"destination(s) failed their last delivery: {', '.join(sorted(failing))}.",
            {**evidence, "errors": failing},
            action="Run `governor alerts test` and fix the failing destination's URL or server.",
            risk="People who rely on that channel miss alerts.",
        )
    return CheckResult(
        "alert_delivery",
        True,
        0,
        f"{len(configured)} destination(s) configured; none failed its last delivery.",
        evidence,
    )
