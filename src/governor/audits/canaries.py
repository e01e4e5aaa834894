"""Canaries: known faults planted where they do no harm, which each monitor must catch. A
monitor that stopped working is the most dangerous silent failure, so a missed canary is a
failing hard gate."""

import hashlib
import hmac
import json
import math
import secrets
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from governor.audits.checks import AuditContext, CheckResult, check
from governor.detection import make_detector
from governor.detection.drift import DriftDetector
from governor.models import LedgerEntry, StripeBalanceTransaction
from governor.revenue.reconcile import Window, compare
from governor.revenue.webhook import RejectedWebhook, verify
from governor.storage.db import session_scope
from governor.storage.guard import check_schema
from governor.storage.migrate import migrate
from governor.storage.scratch import scratch_database

CANARY_SEVERITY = 9
DROPPED = ("execution_tasks", "order_id")
"""The column the schema canary drops (no trigger reads it, so both databases allow it)."""


def _missed(name: str, summary: str, evidence: dict[str, Any], monitor: str) -> CheckResult:
    return CheckResult(
        name,
        False,
        CANARY_SEVERITY,
        summary,
        evidence,
        hard=True,
        action=f"Repair {monitor} before trusting its silence; audit again.",
        risk=f"{monitor} misses the fault it exists to catch, and says nothing.",
    )


def _signature(payload: str, secret: str, at: int) -> str:
    mac = hmac.new(secret.encode(), f"{at}.{payload}".encode(), hashlib.sha256).hexdigest()
    return f"t={at},v1={mac}"


@check("canary.forged_webhook", canary=True)
def forged_webhook(context: AuditContext) -> CheckResult:
    """Forged, tampered and stale webhooks must be rejected; a genuine one accepted."""
    secret, forger = f"whsec_{secrets.token_hex(16)}", f"whsec_{secrets.token_hex(16)}"
    event = json.dumps(
        {
            "id": "evt_canary",
            "object": "event",
            "type": "charge.succeeded",
            "created": int(time.time()),
            "data": {"object": {"id": "ch_canary"}},
        }
    )
    now = int(time.time())
    attempts = {
        "forged signature": (event, _signature(event, forger, now)),
        "tampered body": (event.replace("ch_canary", "ch_thief"), _signature(event, secret, now)),
        "stale timestamp": (event, _signature(event, secret, now - 3600)),
    }
    accepted = []
    for label, (body, header) in attempts.items():
        try:
            verify(body.encode(), header, [secret])
            accepted.append(label)
        except RejectedWebhook:
            pass
    try:
        verify(event.encode(), _signature(event, secret, now), [secret])
        genuine = True
    except RejectedWebhook:
        genuine = False
    evidence = {"planted": list(attempts), "accepted": accepted, "genuine_accepted": genuine}
    if accepted or not genuine:
        what = f"accepted {', '.join(accepted)}" if accepted else "rejected a genuine event"
        return _missed(
            "canary.forged_webhook",
            f"The webhook verifier {what}.",
            evidence,
            "Webhook signature verification",
        )
    return CheckResult(
        "canary.forged_webhook",
        True,
        0,
        "Forged, tampered and stale webhooks were all rejected.",
        evidence,
    )


@check("canary.scratch", canary=True)
def scratch_canaries(context: AuditContext) -> CheckResult:
    """In a scratch database at the newest revision: a charge missing from the ledger must be
    found by reconciliation, and a dropped column must be named by the schema guard."""
    with scratch_database(context.engine) as scratch:
        migrate(scratch, "upgrade", "head", backup=False)
        with session_scope(scratch) as session:
            missing = _plant_missing_charge(session, context.now)
        with session_scope(scratch, readonly=True) as session:
            window = Window(context.now - timedelta(days=1), context.now + timedelta(minutes=1))
            _, found = compare(session, window)
        reported = {(f.kind, f.stripe_id) for f in found}
        with scratch.begin() as connection:
            connection.exec_driver_sql(f"ALTER TABLE {DROPPED[0]} DROP COLUMN {DROPPED[1]}")
        named = [str(p) for p in check_schema(scratch).problems if DROPPED[1] in p.object]
    caught = ("missing_in_ledger", missing) in reported
    evidence = {
        "planted_charge": missing,
        "reconciliation_found": sorted(map(list, reported)),
        "dropped_column": ".".join(DROPPED),
        "guard_named": named,
    }
    if not caught:
        return _missed(
            "canary.scratch",
            f"Reconciliation did not report the charge {missing} "
            "planted as missing from the ledger.",
            evidence,
            "Reconciliation",
        )
    if not named:
        return _missed(
            "canary.scratch",
            f"The schema guard did not name the dropped column {'.'.join(DROPPED)}.",
            evidence,
            "The schema guard",
        )
    return CheckResult(
        "canary.scratch",
        True,
        0,
        f"Reconciliation found the planted missing "
        f"charge {missing}; the schema guard named {'.'.join(DROPPED)}.",
        evidence,
    )


def settled_charge(
    charge: str, amount_minor: int, fee_minor: int, created: datetime, origin: str
) -> StripeBalanceTransaction:
    """Stripe's balance transaction of a USD charge that settled."""
    return StripeBalanceTransaction(
        id=f"txn_{charge.removeprefix('ch_')}", type="charge", reporting_category="charge",
        source_id=charge, ledger_kind="charge", match_ref=charge, amount_minor=amount_minor,
        fee_minor=fee_minor, net_minor=amount_minor - fee_minor, currency="usd",
        status="available", created=created, origin=origin,
    )  # fmt: skip


def _plant_missing_charge(session: Session, now: datetime) -> str:
    """Two charges in Stripe's balance transactions, one of them in the ledger."""
    at = now - timedelta(hours=1)
    ids = [f"ch_canary{secrets.token_hex(8)}" for _ in range(2)]
    session.add_all(settled_charge(charge, 4900, 172, at, "canary") for charge in ids)
    session.add(LedgerEntry(
        id=f"le_{ids[0]}", kind="charge", amount_minor=4900, currency="usd", status="succeeded",
        occurred_at=at, source="stripe", source_ref=ids[0], watermark=at,
    ))  # fmt: skip
    return ids[1]


@check("canary.detectors", canary=True)
def detector_canaries(context: AuditContext) -> CheckResult:
    """A spike in a seasonal series must score as an anomaly, and a slow rise must be a drift."""
    start = datetime(2026, 1, 1, tzinfo=UTC)
    threshold = context.settings.anomaly_threshold
    detector = make_detector()
    spike_at, scores = 24 * 20 + 9, []
    for hour in range(24 * 21):
        value = 100 + 30 * math.sin(2 * math.pi * hour / 24) + (hour * 7919 % 11)
        scores.append(
            detector.update(start + timedelta(hours=hour), value * (4 if hour == spike_at else 1))
        )
    quiet = max(scores[24 * 7 : spike_at])
    drift = DriftDetector("up")
    found = None
    for day in range(60):
        level = 1000 * (1.04 ** max(0, day - 30)) * (1 + 0.03 * ((day * 37) % 5 - 2))
        found = drift.update(start + timedelta(days=day), level) or found
    evidence = {
        "spike_score": round(scores[spike_at], 3),
        "highest_ordinary_score": round(quiet, 3),
        "threshold": threshold,
        "drift": found.describe("canary series") if found else None,
    }
    if scores[spike_at] < threshold or quiet >= threshold:
        return _missed(
            "canary.detectors",
            f"The anomaly detector scored the planted spike "
            f"{scores[spike_at]:.2f} and ordinary points up to {quiet:.2f} against a "
            f"threshold of {threshold}.",
            evidence,
            "Anomaly detection",
        )
    if found is None:
        return _missed(
            "canary.detectors",
            "The drift detector missed a planted +4 %/day rise.",
            evidence,
            "Drift detection",
        )
    return CheckResult(
        "canary.detectors",
        True,
        0,
        f"The planted spike scored "
        f"{scores[spike_at]:.2f}; the planted rise was found: "
        f"{found.describe('canary series')}.",
        evidence,
    )
