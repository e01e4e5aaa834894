"""/healthz and the first page tell the schema's state, on both databases."""

import sqlalchemy as sa
from fastapi.testclient import TestClient

from governor.auth.service import create_token
from governor.config import get_settings
from governor.storage import revisions
from governor.storage.db import session_scope
from governor.web.app import create_app
from tests.factories import insert_task


def client(*, signed_in: bool = True) -> TestClient:
    """The app; signed in with an API token (the database must have the access tables)."""
    if not signed_in:
        return TestClient(create_app(get_settings()), follow_redirects=False)
    with session_scope() as session:
        _, token = create_token(session, name="test")
    return TestClient(create_app(get_settings()), headers={"Authorization": f"Bearer {token}"})


def test_healthz_reports_a_clean_schema(migrated):
    response = client(signed_in=False).get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["schema"]["verdict"] == "clean"
    assert body["gate"]["state"] == "open"
    assert client().get("/healthz").json()["schema"]["revision"] == revisions.head()


def test_healthz_is_503_and_names_the_drift(migrated, monkeypatch):
    with migrated.begin() as conn:
        conn.execute(sa.text("CREATE TABLE scratch (id INTEGER PRIMARY KEY)"))
    response = client().get("/healthz")
    assert response.status_code == 503
    problems = response.json()["schema"]["problems"]
    assert [(p["kind"], p["object"]) for p in problems] == [("extra_table", "scratch")]


def test_the_home_page_says_what_governor_is_and_counts_tasks(migrated):
    insert_task(migrated, status="succeeded")
    insert_task(migrated, status="failed")
    insert_task(migrated, status="failed")
    page = client().get("/")
    assert page.status_code == 200
    assert "control plane of an autonomous AI business" in page.text
    assert 'id="schema-verdict">clean<' in page.text
    assert "<td>failed</td><td>2</td>" in page.text


def test_a_closed_gate_shows_on_health_and_page(migrated):
    from governor.storage.db import session_scope
    from governor.tasks import gate

    with session_scope(migrated) as session:
        gate.pause(session, reason="audit failed", actor="auditor", report_id="fsar_7")
    body = client().get("/healthz").json()
    assert body["gate"]["state"] == "closed"
    assert body["gate"]["report_id"] == "fsar_7"
    page = client().get("/").text
    assert 'id="gate-state">closed<' in page
    assert "fsar_7" in page


def test_the_home_page_shows_drift_instead_of_failing(migrated):
    client_ = client()
    with migrated.begin() as conn:
        conn.execute(sa.text("CREATE TABLE scratch (id INTEGER PRIMARY KEY)"))
    page = client_.get("/")
    assert page.status_code == 200
    assert 'id="schema-verdict">drift<' in page.text
    assert "scratch" in page.text


def test_before_the_first_migration_the_sign_in_page_says_to_upgrade(engine):
    anonymous = client(signed_in=False)
    home = anonymous.get("/", headers={"accept": "text/html"})
    assert home.status_code == 303 and home.headers["location"] == "/login?next=%2F"
    page = anonymous.get("/login")
    assert page.status_code == 200
    assert "the database is not ready. Run `governor db upgrade`" in page.text


def test_healthz_is_503_when_the_database_cannot_be_reached(monkeypatch):
    from tests.support.ports import free_port

    monkeypatch.setenv(
        "GOVERNOR_DATABASE_URL", f"postgresql://gov:s3cretpw@127.0.0.1:{free_port()}/gov"
    )
    get_settings.cache_clear()
    response = client(signed_in=False).get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["schema"]["verdict"] == "unreachable"
    assert "s3cretpw" not in response.text
