"""Delivering alerts to real local receivers: once per severity, retried, logged, never a secret."""

import logging

from sqlalchemy import select
from sqlalchemy.engine import Engine

from governor.alerts import send, service
from governor.alerts.delivery import GAVE_UP, deliver_pending, send_test
from governor.alerts.destinations import redact
from governor.config import get_settings
from governor.models import Alert, AlertDelivery
from governor.storage.db import session_scope
from tests.alerts.conftest import SECRETS, RaiseAlert
from tests.conftest import Configure
from tests.support.receivers import HTTPReceiver, SMTPReceiver


def _deliver(engine: Engine) -> dict[str, object]:
    return deliver_pending(engine, get_settings()).to_dict()


def _log(engine: Engine) -> list[AlertDelivery]:
    with session_scope(engine, readonly=True) as session:
        return list(session.scalars(select(AlertDelivery).order_by(AlertDelivery.created_at)))


def _alert(engine: Engine, alert_id: str) -> Alert:
    with session_scope(engine, readonly=True) as session:
        alert = session.get(Alert, alert_id)
        assert alert is not None
        return alert


def _mail_text(mailbox: SMTPReceiver, index: int = -1) -> tuple[str, str]:
    mail = mailbox.messages[index]
    part = next(p for p in mail.walk() if p.get_content_type() == "text/plain")
    return str(mail["Subject"]), part.get_payload(decode=True).decode()  # type: ignore[union-attr]


def test_an_alert_reaches_both_once_and_again_when_it_grows(
    migrated, configure: Configure, raise_: RaiseAlert, receiver: HTTPReceiver,
    mailbox: SMTPReceiver, json_url: str, mail_url: str,
):  # fmt: skip
    configure(alert_urls=f"{json_url}, {mail_url}")
    alert_id = raise_()
    assert _deliver(migrated)["notified"] == 1

    [posted] = receiver.delivered()
    assert posted["title"] == "[Governor] Medium: Charge ch_1 of 5.00 USD failed: declined"
    assert "Drill-down: /orders?q=ch_1" in posted["message"] and posted["type"] == "warning"
    subject, text = _mail_text(mailbox)
    assert subject == posted["title"] and f"Alert: {alert_id}" in text
    assert mailbox.logins == ["alice"]
    assert _alert(migrated, alert_id).notified_severity == 5
    assert {(d.destination, d.status, d.attempts, d.severity) for d in _log(migrated)} == {
        (f"json://127.0.0.1:{receiver.port}/…", "delivered", 1, 5),
        (f"mailto://127.0.0.1:{mailbox.port}/…", "delivered", 1, 5),
    }

    raise_()  # seen again, same severity: nothing new to say
    assert _deliver(migrated)["alerts"] == 0
    raise_(severity=8)
    assert _deliver(migrated)["notified"] == 1
    assert receiver.delivered()[-1]["title"].startswith("[Governor] Critical: ")
    assert len(mailbox.messages) == 2 and _alert(migrated, alert_id).notified_severity == 8


def test_acknowledged_alerts_are_sent_again_only_when_they_grow(
    migrated, configure: Configure, raise_: RaiseAlert, receiver: HTTPReceiver, json_url: str
):
    configure(alert_urls=json_url)
    known = raise_("dispute:dp_1", severity=7)
    _deliver(migrated)
    quiet = raise_("dispute:dp_2", severity=5)  # acknowledged before it was sent: a person knows
    with session_scope(migrated) as session:
        service.acknowledge(session, known, "alice")
        service.acknowledge(session, quiet, "alice")
    raise_("dispute:dp_1", severity=7)
    raise_("dispute:dp_2", severity=5)
    assert _deliver(migrated)["alerts"] == 0
    raise_("dispute:dp_1", severity=9)
    assert _deliver(migrated)["notified"] == 1
    assert len(receiver.delivered()) == 2

    with session_scope(migrated) as session:  # a resolved alert that fires again is news
        service.resolve(session, known, "alice")
    assert _deliver(migrated)["alerts"] == 0
    raise_("dispute:dp_1", severity=9)
    assert _deliver(migrated)["notified"] == 1
    assert _alert(migrated, known).status == "open"


def test_a_failing_destination_is_retried_logged_and_blocks_nobody(
    migrated, configure: Configure, raise_: RaiseAlert, receiver: HTTPReceiver,
    mailbox: SMTPReceiver, dead_url: str, json_url: str, mail_url: str, caplog,
):  # fmt: skip
    configure(alert_urls=f"{dead_url} {json_url},{mail_url}")
    receiver.status = 500
    first, second = raise_("a:1", severity=9), raise_("a:2", severity=4)
    with caplog.at_level(logging.DEBUG):
        report = _deliver(migrated)

    assert report["notified"] == 2 and report["undelivered"] == []
    assert len(receiver.posted) == send.ATTEMPTS  # tried again after each 500, then given up
    assert len(mailbox.messages) == 2
    dead, failing = redact(dead_url), redact(json_url)
    failed = [d for d in _log(migrated) if d.status == "failed"]
    assert {(d.alert_id, d.destination, d.attempts) for d in failed} == {
        (first, dead, send.ATTEMPTS), (second, dead, 0),
        (first, failing, send.ATTEMPTS), (second, failing, 0),
    }  # fmt: skip
    assert any("error=500" in (d.error or "") for d in failed)
    assert any("Connection error" in (d.error or "") for d in failed)
    assert {d.error for d in failed if d.attempts == 0} == {GAVE_UP}
    assert report["failed"] == {d.destination: 2 for d in failed}
    logged = [f"{d.destination} {d.error}" for d in _log(migrated)]
    for secret in SECRETS:
        assert secret not in f"{report} {logged} {caplog.text}"


def test_an_alert_nobody_took_is_tried_on_the_next_run(
    migrated, configure: Configure, raise_: RaiseAlert, receiver: HTTPReceiver, json_url: str
):
    configure(alert_urls=json_url)
    receiver.status = 503
    alert_id = raise_()
    assert _deliver(migrated)["undelivered"] == [alert_id]
    assert _alert(migrated, alert_id).notified_severity is None
    receiver.status = 200
    assert _deliver(migrated)["notified"] == 1
    assert _deliver(migrated)["alerts"] == 0


def test_without_destinations_nothing_happens(migrated, raise_: RaiseAlert):
    raise_()
    assert _deliver(migrated) == {"skipped": "no destinations: GOVERNOR_ALERT_URLS is not set"}
    assert _log(migrated) == []


def test_send_test_reports_each_destination(
    configure: Configure, receiver: HTTPReceiver, json_url: str, dead_url: str
):
    configure(alert_urls=f"{json_url} {dead_url} nope://{SECRETS[0]}")
    results = [r.to_dict() for r in send_test(get_settings())]
    assert [(r["delivered"], r["attempts"]) for r in results] == [
        (True, 1), (False, send.ATTEMPTS), (False, 0),
    ]  # fmt: skip
    assert results[2] == {"destination": "nope://…", "delivered": False, "attempts": 0,
                          "error": send.UNUSABLE}  # fmt: skip
    assert receiver.delivered()[0]["title"].startswith("[Governor] Test")
    assert all(s not in str(results) for s in SECRETS)
