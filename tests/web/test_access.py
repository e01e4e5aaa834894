"""Every route of the real app needs a sign-in, except the few public ones; secrets never leak.

The route list is read from the app at test time, so routes added later are covered too.
"""

import logging
import re
import uuid
from collections.abc import Iterator, Sequence
from urllib.parse import parse_qs, urlsplit

import pytest
from argon2 import PasswordHasher
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient
from starlette.routing import BaseRoute, Mount
from starlette.websockets import WebSocketDisconnect

from governor.auth import service
from governor.config import get_settings
from governor.storage.db import get_engine, session_scope
from governor.web.app import create_app
from governor.web.auth import SESSION_COOKIE
from tests.auth.cookies import session_cookie

FAST = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)  # tests only
PASSWORD = "correct horse battery"
HTML = {"accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
JSON = {"accept": "application/json"}
PUBLIC = {"/healthz", "/webhooks/stripe", "/login"}
DUMMIES = {"IntegerConvertor": "1", "FloatConvertor": "1.5", "PathConvertor": "a/b",
           "UUIDConvertor": str(uuid.UUID(int=1)), "StringConvertor": "x1"}  # fmt: skip


def _fill(path_format: str, convertors: dict[str, object]) -> str:
    """The path with each {parameter} replaced by a value its convertor accepts."""

    def dummy(match: re.Match[str]) -> str:
        return DUMMIES.get(type(convertors.get(match.group(1))).__name__, "x1")

    return re.sub(r"{(\w+)(:\w+)?}", dummy, path_format)


def endpoints(routes: Sequence[BaseRoute], prefix: str = "") -> Iterator[tuple[str, str]]:
    """(method, path) of every route, mounted ones too; "WEBSOCKET" for websocket routes."""
    for route in iter_route_contexts(routes):
        convertors = getattr(route, "param_convertors", {}) or {}
        path = prefix + _fill(route.path_format or route.path or "", convertors)
        if isinstance(route.original_route, Mount):
            inner = route.original_route.routes
            if inner:
                yield from endpoints(inner, path)
            else:  # a mounted app without a route list (static files, another ASGI app)
                yield "GET", path + "/anything"
        elif route.methods:
            for method in sorted(route.methods):
                yield method, path
        else:
            yield "WEBSOCKET", path


def is_public(path: str) -> bool:
    return path in PUBLIC or path.startswith(("/static/", "/f/"))  # /f/…: signed feedback links


def browser(app: FastAPI, **options: object) -> TestClient:
    return TestClient(app, follow_redirects=False, **options)  # type: ignore[arg-type]


@pytest.fixture
def app(migrated, configure) -> FastAPI:
    configure(stripe_webhook_secrets="whsec_access_test")
    return create_app(get_settings())


@pytest.fixture
def user(migrated):
    with session_scope(migrated) as session:
        return service.create_user(session, name="alice", password=PASSWORD, hasher=FAST)


def sign_in(client: TestClient, *, password: str = PASSWORD, next: str = "/"):
    form = client.get("/login", headers=HTML)
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text).group(1)
    return client.post("/login", data={"name": "alice", "password": password, "next": next,
                                       "csrf_token": token})  # fmt: skip


def test_no_route_answers_without_credentials(app):
    routes = sorted(set(endpoints(app.routes)))
    assert ("GET", "/") in routes and ("POST", "/logout") in routes  # the walk found the app
    client = browser(app)
    checked = 0
    for method, path in routes:
        if is_public(path):
            continue
        checked += 1
        if method == "WEBSOCKET":
            with pytest.raises(WebSocketDisconnect) as refused, client.websocket_connect(path):
                pass
            assert refused.value.code == 1008, path
            continue
        as_page = client.request(method, path, headers=HTML)
        as_script = client.request(method, path, headers=JSON)
        assert as_script.status_code == 401, (method, path, as_script.status_code)
        assert as_script.headers["www-authenticate"].startswith("Bearer")
        if method != "HEAD":
            assert as_script.json()["hint"] == (
                "sign in at /login or send Authorization: Bearer <token>"
            )
        if path.startswith("/api/") or path == "/metrics":
            assert as_page.status_code == 401, (method, path, as_page.status_code)
        else:
            assert as_page.status_code == 303, (method, path, as_page.status_code)
            location = urlsplit(as_page.headers["location"])
            assert location.path == "/login"
            assert parse_qs(location.query)["next"] == [path]
    assert checked >= 2
    unknown = client.get("/no/such/page", headers=HTML)
    assert unknown.status_code == 303  # even a 404 is only told to someone signed in


def test_only_the_public_paths_answer_without_credentials(app):
    client = browser(app)
    assert client.get("/healthz").status_code == 200
    assert client.post("/webhooks/stripe", content=b"{}").status_code == 400  # no signature
    assert client.get("/login", headers=HTML).status_code == 200
    static = client.get("/static/no-such-file.css")
    assert static.status_code not in (303, 401)
    public = {path for _method, path in endpoints(app.routes) if is_public(path)}
    assert {p for p in public if not p.startswith("/static/")} <= PUBLIC | {"/f/x1"}
    forged = client.get("/f/x1", headers=HTML)  # a feedback link's page: its own refusal
    assert forged.status_code == 404 and "not valid" in forged.text


def test_a_token_opens_the_app_until_it_is_revoked(app, migrated):
    with session_scope(migrated) as session:
        token, plain = service.create_token(session, name="script")
    client = browser(app, headers={"Authorization": f"Bearer {plain}"})
    page = client.get("/", headers=HTML)
    assert page.status_code == 200
    with session_scope(migrated) as session:
        assert session.get(type(token), token.id).last_used_at is not None
        service.revoke_token(session, token_id=token.id)
    refused = client.get("/")
    assert refused.status_code == 401
    assert "not valid" in refused.json()["error"]
    assert client.get("/", headers=HTML).status_code == 401  # no cookie: never a login redirect
    assert browser(app, headers={"Authorization": "Bearer gov_forged"}).get("/").status_code == 401


def _cookie(user, *, age: float, key: str | None = None) -> str:
    return session_cookie(get_engine(), user, age=age, key=key, csrf="the-csrf-token")


def test_forged_and_expired_session_cookies_are_refused(app, user):
    def status(value: str) -> int:
        return browser(app, cookies={SESSION_COOKIE: value}).get("/", headers=JSON).status_code

    assert status(_cookie(user, age=0)) == 200
    assert status(_cookie(user, age=12 * 3600 + 5)) == 401
    assert status(_cookie(user, age=0, key="k" * 40)) == 401
    value = _cookie(user, age=0)
    assert status(value[:5] + ("A" if value[5] != "A" else "B") + value[6:]) == 401  # tampered


def test_changes_signed_by_cookie_need_the_csrf_token(app, user):
    client = browser(app, cookies={SESSION_COOKIE: _cookie(user, age=0)})
    missing = client.post("/logout")
    assert missing.status_code == 403
    assert "CSRF token is missing or wrong" in missing.json()["error"]
    assert client.post("/logout", data={"csrf_token": "wrong"}).status_code == 403
    done = client.post("/logout", data={"csrf_token": "the-csrf-token"})
    assert done.status_code == 303 and done.headers["location"] == "/login"


def test_sign_in_through_the_app(app, user, caplog):
    caplog.set_level(logging.DEBUG)
    client = browser(app)
    responses = [sign_in(client, password="a wrong password")]
    assert "Wrong name or password." in responses[-1].text
    responses.append(sign_in(client, next="//evil.com/steal"))
    signed_in = responses[-1]
    assert signed_in.status_code == 303 and signed_in.headers["location"] == "/"
    (cookie,) = [c for c in signed_in.headers.get_list("set-cookie")
                 if c.startswith(f"{SESSION_COOKIE}=")]  # fmt: skip
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/" in cookie
    responses.append(client.get("/", headers=HTML))
    assert responses[-1].status_code == 200
    with session_scope() as session:
        _, token = service.create_token(session, name="script")
    responses.append(client.get("/", headers={"Authorization": f"Bearer {token}"}))
    assert responses[-1].status_code == 200
    for secret in (PASSWORD, "a wrong password", token):
        assert secret not in caplog.text
        for response in responses:
            assert secret not in response.text
            assert secret not in str(response.headers)
    assert "alice" in caplog.text  # the sign-in itself is logged


def test_five_failed_sign_ins_then_429(app, user):
    client = browser(app)
    for _ in range(5):
        assert sign_in(client, password="guessing again").status_code == 200
    blocked = sign_in(client)
    assert blocked.status_code == 429
    assert int(blocked.headers["retry-after"]) > 800
    assert "Too many failed sign-ins" in blocked.text
    assert SESSION_COOKIE not in client.cookies


def test_the_alert_and_gate_buttons_need_the_csrf_token_and_record_who(app, user, migrated):
    from governor.alerts.service import raise_alert
    from governor.models import Alert
    from governor.tasks import gate

    report_id = "fsar_00000000-0000-4000-8000-000000000001"
    with session_scope(migrated) as session:
        alert_id = raise_alert(session, kind="anomaly", severity=5, fingerprint="revenue",
                               title="Revenue stopped").id  # fmt: skip
        gate.pause(session, reason="audit failed", actor="audit", report_id=report_id)
    client = browser(app, cookies={SESSION_COOKIE: _cookie(user, age=0)})
    page = client.get("/alerts", headers=HTML).text
    assert f'action="/alerts/{alert_id}/ack"' in page and "the-csrf-token" in page
    assert client.post(f"/alerts/{alert_id}/ack").status_code == 403
    signed = {"csrf_token": "the-csrf-token"}
    assert client.post(f"/alerts/{alert_id}/ack", data=signed).status_code == 303
    with session_scope(migrated) as session:
        assert session.get(Alert, alert_id).status == "acknowledged"
    assert client.post(f"/alerts/{alert_id}/resolve", data=signed).status_code == 303
    with session_scope(migrated) as session:
        assert session.get(Alert, alert_id).status == "resolved"

    assert client.post("/gate/resume", data={"ack": report_id}).status_code == 403
    reopened = client.post("/gate/resume", data={**signed, "ack": report_id, "reason": "fixed"})
    assert reopened.status_code == 303
    with session_scope(migrated) as session:
        state = gate.status(session)
    assert state.open and (state.actor, state.reason) == ("alice", "fixed")
