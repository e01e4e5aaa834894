"""/healthz tells strangers only status, verdict and gate, and fails when writes would fail;
every answer carries the browser defences, and a change from another site is refused."""

import re

import sqlalchemy as sa
from fastapi.testclient import TestClient

from governor.auth.service import create_token
from governor.config import get_settings
from governor.storage.db import session_scope
from governor.web.app import create_app
from governor.web.auth import SESSION_COOKIE
from tests.support.read_only_db import read_only_database
from tests.web.test_access import FAST, HTML, _cookie, app, user  # noqa: F401 (fixtures)
from tests.web.test_health_and_home import client


def test_open_healthz_says_status_verdict_and_gate_only(migrated):
    with migrated.begin() as conn:
        conn.execute(sa.text("CREATE TABLE scratch_secret (id INTEGER PRIMARY KEY)"))
    signed = client()
    anonymous = client(signed_in=False).get("/healthz")
    assert anonymous.status_code == 503
    body = anonymous.json()
    assert set(body) == {"status", "reason", "schema", "gate"}
    assert body["schema"] == {"verdict": "drift"} and body["reason"] == "schema drift"
    url = migrated.url.render_as_string(hide_password=True)
    assert (
        "scratch_secret" not in anonymous.text and str(migrated.url.database) not in anonymous.text
    )
    assert url not in anonymous.text
    details = signed.get("/healthz").json()
    assert details["schema"]["problems"][0]["object"] == "scratch_secret"


def test_healthz_is_503_when_the_database_is_not_writable(migrated):
    with session_scope() as session:
        _, token = create_token(session, name="probe")
    with read_only_database(migrated):
        check_read_only_health(token)


def check_read_only_health(token: str) -> None:
    response = TestClient(create_app(get_settings())).get("/healthz")
    signed = TestClient(create_app(get_settings()), headers={"Authorization": f"Bearer {token}"})
    details = signed.get("/healthz").json()
    assert details["database"]["writable"] is False, details
    assert details["schema"]["verdict"] == "clean", details["schema"]
    assert response.status_code == 503
    assert response.json()["status"] == "degraded"
    assert response.json()["reason"] == "database not writable", response.text
    assert response.json()["schema"] == {"verdict": "clean"}


def test_every_answer_carries_the_browser_defences(app, user):  # noqa: F811
    browser = TestClient(app, follow_redirects=False)
    signed = TestClient(app, cookies={SESSION_COOKIE: _cookie(user, age=0)})
    for response in (signed.get("/", headers=HTML), signed.get("/api/gate"),
                     browser.get("/api/gate"), browser.get("/login"), browser.get("/healthz"),
                     browser.post("/webhooks/stripe", content=b"{}")):  # fmt: skip
        csp = response.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in csp and "default-src 'self'" in csp
        assert "script-src 'self';" in csp  # no inline scripts
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["referrer-policy"] == "same-origin"
        assert response.headers["x-content-type-options"] == "nosniff"
    page = signed.get("/", headers=HTML).text
    assert not re.search(r"<script(?![^>]*\bsrc=)(?![^>]*application/json)[^>]*>", page)


def test_a_change_from_another_site_is_refused_beside_the_csrf_token(app, user):  # noqa: F811
    def signed_in() -> TestClient:  # a session of its own: signing out ends it
        return TestClient(app, cookies={SESSION_COOKIE: _cookie(user, age=0)},
                          follow_redirects=False)  # fmt: skip

    signed = signed_in()
    token = {"csrf_token": "the-csrf-token"}
    for headers in ({"origin": "https://evil.example"}, {"sec-fetch-site": "cross-site"},
                    {"origin": "null"}, {"sec-fetch-site": "same-site"}):  # fmt: skip
        refused = signed.post("/logout", data=token, headers=headers)
        assert refused.status_code == 403, headers
        assert "came from another" in refused.json()["message"]
    own = {"origin": "http://testserver", "sec-fetch-site": "same-origin"}
    assert signed.post("/logout", data=token, headers=own).status_code == 303
    assert signed_in().post("/logout", data=token).status_code == 303  # no browser headers
    stripe = TestClient(app).post("/webhooks/stripe", content=b"{}",
                                  headers={"origin": "https://evil.example"})  # fmt: skip
    assert stripe.status_code == 400  # the webhook door's own answer (no signature)
