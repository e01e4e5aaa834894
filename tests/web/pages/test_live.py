"""/live over a real HTTP connection: a first event at once, then one when a task finishes."""

import json
from collections.abc import Iterator

import httpx
import pytest

from governor.config import get_settings
from governor.demo.background_server import BackgroundServer
from governor.models.types import utcnow
from governor.web.app import create_app
from governor.web.pages import live
from tests.factories import insert_task
from tests.web.pages.conftest import signed_in


def events(lines: Iterator[str]) -> Iterator[dict[str, str]]:
    """Server-sent events as dicts of their fields (comments and retry lines skipped)."""
    fields: dict[str, str] = {}
    for line in lines:
        if line == "":
            if "event" in fields:
                yield fields
            fields = {}
        elif not line.startswith(":"):
            name, _, value = line.partition(": ")
            fields[name] = value


@pytest.fixture
def server(migrated, monkeypatch):
    monkeypatch.setattr(live, "POLL_SECONDS", 0.05)  # the test waits for a change, not 2 s
    app = create_app(get_settings())
    _, token = signed_in(app)
    with BackgroundServer(app) as running:
        yield running.url, {"Authorization": f"Bearer {token}"}


def test_the_stream_says_ready_then_change_when_a_task_finishes(migrated, server):
    url, headers = server
    with httpx.stream("GET", f"{url}/live", headers=headers, timeout=20) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        stream = events(response.iter_lines())
        first = next(stream)
        assert first["event"] == "ready" and len(first["id"]) == 16
        insert_task(migrated, status="succeeded", finished_at=utcnow(), duration_ms=5)
        change = next(stream)
        assert change["event"] == "change" and change["id"] != first["id"]
        assert json.loads(change["data"]) == {"changed": ["tasks"]}


def test_a_reconnecting_page_that_missed_a_change_hears_of_it_at_once(migrated, server):
    url, headers = server
    with httpx.stream("GET", f"{url}/live", headers={**headers, "Last-Event-ID": "0" * 16},
                      timeout=20) as response:  # fmt: skip
        assert next(events(response.iter_lines()))["event"] == "change"
    anonymous = httpx.get(f"{url}/live", timeout=20)
    assert anonymous.status_code == 401
