"""Acknowledging and resolving alerts, and the delivery job's schedule."""

import logging

import pytest
from sqlalchemy.engine import Engine

from governor import jobs
from governor.alerts import service
from governor.config import get_settings
from governor.errors import BadInput, NotFound
from governor.storage.db import session_scope
from governor.tasks import registry
from governor.tasks.context import TaskContext
from governor.tasks.schedule import schedules
from tests.alerts.conftest import RaiseAlert


def test_acknowledge_and_resolve(migrated: Engine, raise_: RaiseAlert):
    alert_id = raise_()
    with session_scope(migrated) as session:
        acked = service.acknowledge(session, alert_id, "alice")
        at = acked.acknowledged_at
        assert acked.status == "acknowledged" and at is not None
        assert service.acknowledge(session, alert_id, "bob").acknowledged_at == at
        resolved = service.resolve(session, alert_id, "alice")
        assert resolved.status == "resolved" and resolved.resolved_at is not None
        assert service.resolve(session, alert_id, "alice").status == "resolved"
        with pytest.raises(BadInput, match="is resolved"):
            service.acknowledge(session, alert_id, "alice")
        for change in (service.acknowledge, service.resolve):
            with pytest.raises(NotFound) as missing:
                change(session, "alert_nope", "alice")
            assert missing.value.hint and "alerts list" in missing.value.hint


def test_an_alert_that_fires_after_it_was_resolved_is_a_new_incident(
    migrated: Engine, raise_: RaiseAlert
):
    alert_id = raise_()
    with session_scope(migrated) as session:
        alert = service.acknowledge(session, alert_id, "alice")
        alert.notified_severity = 5
        service.resolve(session, alert_id, "alice")
    raise_()
    with session_scope(migrated, readonly=True) as session:
        alert = service.get_alert(session, alert_id)
        assert alert.status == "open"
        assert alert.notified_severity is None and alert.acknowledged_at is None


def test_delivery_runs_every_minute_as_a_system_task(configure):
    jobs.load()
    assert registry.get("alerts.deliver").kind == "system"
    [schedule] = [s for s in schedules() if s.type == "alerts.deliver"]
    assert schedule.period(get_settings()).total_seconds() == 60
    context = TaskContext("task_1", "alerts.deliver", 1, None, None, logging.getLogger("t"))
    assert registry.get("alerts.deliver").handler(context) == {
        "skipped": "no destinations: GOVERNOR_ALERT_URLS is not set"
    }
