"""Signing in and out through RequireLogin and /login, on an app with only a few routes."""

import re
from urllib.parse import parse_qs, urlsplit

import pytest
from argon2 import PasswordHasher
from fastapi import FastAPI, Request, WebSocket
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from governor.auth import service
from governor.auth.ratelimit import LoginLimiter
from governor.config import get_settings
from governor.storage.db import get_engine, session_scope
from governor.web.auth import (
    DEVICE_COOKIE,
    LOGIN_COOKIE,
    SESSION_COOKIE,
    RequireLogin,
    csrf_token,
    current_user,
    router,
    safe_next,
)
from tests.auth.cookies import session_cookie

FAST = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)  # tests only
PASSWORD = "correct horse battery"
HTML = {"accept": "text/html,application/xhtml+xml"}


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def make_app(engine, clock: Clock | None = None) -> FastAPI:
    app = FastAPI()
    limiter = LoginLimiter(clock=clock or Clock())
    app.add_middleware(RequireLogin, settings=get_settings(), engine=engine,
                       password_hasher=FAST, limiter=limiter)  # fmt: skip
    app.include_router(router)

    @app.get("/")
    def home(request: Request) -> dict[str, object]:
        user = current_user(request)
        return {"user": user.name, "via_token": user.via_token, "csrf": csrf_token(request)}

    @app.post("/echo")
    async def echo(request: Request) -> dict[str, object]:
        form = await request.form()
        return {"note": form.get("note"), "user": current_user(request).name}

    @app.websocket("/ws")
    async def ws(socket: WebSocket) -> None:
        await socket.accept()
        await socket.send_text("hello")
        await socket.close()

    return app


def browser(app: FastAPI, **options: object) -> TestClient:
    """A client that, like a test of redirects must, does not follow them."""
    return TestClient(app, follow_redirects=False, **options)  # type: ignore[arg-type]


@pytest.fixture
def user(migrated):
    with session_scope(migrated) as session:
        return service.create_user(session, name="alice", password=PASSWORD, hasher=FAST)


@pytest.fixture
def client(migrated, user) -> TestClient:
    return browser(make_app(migrated))


def form_token(page: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found, page
    return found.group(1)


def sign_in(client: TestClient, password: str = PASSWORD, next: str = "/", name: str = "alice"):
    form = client.get("/login", headers=HTML)
    assert form.status_code == 200
    return client.post("/login", data={"name": name, "password": password, "next": next,
                                       "csrf_token": form_token(form.text)})  # fmt: skip


def set_cookies(response) -> list[str]:
    return response.headers.get_list("set-cookie")


def test_the_form_carries_a_csrf_token_in_a_short_lived_cookie(client):
    page = client.get("/login?next=/tasks", headers=HTML)
    assert page.status_code == 200
    assert 'name="next" value="/tasks"' in page.text
    assert 'type="password" name="password"' in page.text
    (cookie,) = set_cookies(page)
    assert cookie.startswith(f"{LOGIN_COOKIE}=") and "HttpOnly" in cookie
    assert "Max-Age=3600" in cookie and "Path=/login" in cookie and "SameSite=lax" in cookie
    assert form_token(page.text) not in cookie  # the cookie holds it signed, not bare


def test_signing_in_sets_a_session_cookie_and_goes_on(client):
    response = sign_in(client, next="/tasks?status=failed")
    assert response.status_code == 303
    assert response.headers["location"] == "/tasks?status=failed"
    cookies = set_cookies(response)
    (session,) = [c for c in cookies if c.startswith(f"{SESSION_COOKIE}=")]
    for flag in ("HttpOnly", "SameSite=lax", "Path=/", "Max-Age=43200"):
        assert flag in session
    assert "Secure" not in session  # plain http here
    assert any(c.startswith(f'{LOGIN_COOKIE}=""') or "Max-Age=0" in c
               for c in cookies if c.startswith(LOGIN_COOKIE))  # fmt: skip
    home = client.get("/")
    assert home.status_code == 200
    assert home.json()["user"] == "alice" and not home.json()["via_token"]
    with session_scope(readonly=True) as db:
        assert service.find_user(db, name="alice").last_login_at is not None
    assert client.get("/login?next=/tasks", headers=HTML).headers["location"] == "/tasks"


def test_the_cookie_is_secure_over_https(migrated, user):
    client = browser(make_app(migrated), base_url="https://testserver")
    (session,) = [c for c in set_cookies(sign_in(client)) if c.startswith(SESSION_COOKIE)]
    assert "Secure" in session


def test_each_sign_in_gets_a_fresh_session_and_csrf_token(migrated, user):
    first, second = browser(make_app(migrated)), browser(make_app(migrated))
    sign_in(first)
    sign_in(second)
    assert first.cookies[SESSION_COOKIE] != second.cookies[SESSION_COOKIE]
    assert first.get("/").json()["csrf"] != second.get("/").json()["csrf"]


def test_wrong_password_and_unknown_name_get_the_same_answer(client):
    wrong = sign_in(client, password="not the password")
    unknown = sign_in(client, name="mallory")
    for page in (wrong, unknown):
        assert page.status_code == 200
        assert "Wrong name or password." in page.text
        assert SESSION_COOKIE not in page.headers.get("set-cookie", "")
    assert 'value="mallory"' in unknown.text  # the name is kept, the password never
    assert "not the password" not in wrong.text
    assert client.get("/", headers=HTML).status_code == 303


def test_sign_in_needs_the_forms_csrf_token(migrated, client):
    bare = client.post("/login", data={"name": "alice", "password": PASSWORD, "csrf_token": "x"})
    assert bare.status_code == 403
    assert "expired or was opened elsewhere" in bare.text
    client.get("/login", headers=HTML)
    forged = client.post("/login", data={"name": "alice", "password": PASSWORD,
                                         "csrf_token": "guessed"})  # fmt: skip
    assert forged.status_code == 403
    assert SESSION_COOKIE not in client.cookies
    other = browser(make_app(migrated))  # a token from another browser's form
    theirs = form_token(other.get("/login", headers=HTML).text)
    client.get("/login", headers=HTML)
    crossed = client.post("/login", data={"name": "alice", "password": PASSWORD,
                                          "csrf_token": theirs})  # fmt: skip
    assert crossed.status_code == 403


OPEN_REDIRECTS = [
    "//evil.com", "https://evil.com/x", "/\\evil.com", "\\\\evil.com", "http:/evil.com",
    "/\t/evil.com", "/\n/evil.com", "javascript:alert(1)", "evil.com", "", "/login", "/logout?x=1",
]  # fmt: skip


def test_open_redirects_are_refused(client):
    for target in OPEN_REDIRECTS:
        assert safe_next(target) == "/", target
    for target in ("//evil.com", "/\\evil.com", "https://evil.com/x"):
        client.cookies.clear()
        response = sign_in(client, next=target)
        assert response.status_code == 303
        assert response.headers["location"] == "/"


def test_local_next_values_are_kept():
    for target in ("/", "/tasks", "/tasks/task_1?status=failed&x=%2F%2Fevil", "/a//b"):
        assert safe_next(target) == target


def test_pages_redirect_to_login_and_keep_where_they_were_going(client):
    response = client.get("/reports/x?since=7d&q=a b", headers=HTML)
    assert response.status_code == 303
    location = urlsplit(response.headers["location"])
    assert location.path == "/login"
    assert parse_qs(location.query)["next"] == ["/reports/x?since=7d&q=a%20b"]
    api = client.get("/reports/x")
    assert api.status_code == 401
    assert api.headers["www-authenticate"].startswith("Bearer")
    assert api.json()["hint"] == "sign in at /login or send Authorization: Bearer <token>"


def test_changes_need_the_csrf_token(client):
    sign_in(client)
    token = client.get("/").json()["csrf"]
    assert client.post("/echo", data={"note": "hi"}).status_code == 403
    wrong = client.post("/echo", data={"note": "hi", "csrf_token": "nope"})
    assert wrong.status_code == 403 and "CSRF token is missing or wrong" in wrong.json()["error"]
    assert client.post("/echo", json={"note": "hi"}).status_code == 403
    by_header = client.post("/echo", data={"note": "hi"}, headers={"X-CSRF-Token": token})
    assert by_header.json() == {"note": "hi", "user": "alice"}
    by_form = client.post("/echo", data={"note": "hé & hi", "csrf_token": token})
    assert by_form.json() == {"note": "hé & hi", "user": "alice"}  # the route still got the body
    multipart = client.post(
        "/echo", data={"note": "filed", "csrf_token": token}, files={"f": ("a.txt", b"x" * 5000)}
    )
    assert multipart.json() == {"note": "filed", "user": "alice"}
    garbled = client.post("/echo", content=b"--x\r\nnot a part",
                          headers={"content-type": "multipart/form-data; boundary=x"})  # fmt: skip
    assert garbled.status_code == 403


def test_token_requests_need_no_csrf_token(migrated, client):
    with session_scope(migrated) as session:
        _, plain = service.create_token(session, name="ci")
    bearer = {"Authorization": f"Bearer {plain}"}
    posted = client.post("/echo", data={"note": "from a script"}, headers=bearer)
    assert posted.json() == {"note": "from a script", "user": "ci"}
    assert client.get("/", headers=bearer).json()["via_token"] is True


def test_a_bad_bearer_token_is_not_saved_by_a_cookie(client):
    sign_in(client)
    response = client.get("/", headers={"Authorization": "Bearer gov_" + "x" * 40})
    assert response.status_code == 401
    assert "not valid" in response.json()["error"]


def test_logout_needs_csrf_and_ends_the_session(client):
    sign_in(client)
    token = client.get("/").json()["csrf"]
    assert client.post("/logout").status_code == 403
    response = client.post("/logout", data={"csrf_token": token})
    assert response.status_code == 303 and response.headers["location"] == "/login"
    (cleared,) = set_cookies(response)
    assert cleared.startswith(f'{SESSION_COOKIE}=""') and "Max-Age=0" in cleared
    assert SESSION_COOKIE not in client.cookies
    assert client.get("/", headers=HTML).status_code == 303


def test_a_new_password_ends_old_sessions(migrated, client, user):
    sign_in(client)
    assert client.get("/").status_code == 200
    with session_scope(migrated) as session:
        service.set_password(session, user_id=user.id, password="another passphrase", hasher=FAST)
    response = client.get("/", headers=HTML)
    assert response.status_code == 303
    assert "Max-Age=0" in response.headers["set-cookie"]  # the stale cookie is dropped
    assert client.get("/").status_code == 401


def test_a_deleted_user_is_signed_out(migrated, client, user):
    sign_in(client)
    with session_scope(migrated) as session:
        session.delete(service.get_user(session, user.id))
    assert client.get("/").status_code == 401


def _cookie(user, *, age: float, key: str | None = None) -> str:
    return session_cookie(get_engine(), user, age=age, key=key, csrf="csrf-token-of-the-test")


def test_forged_and_expired_cookies_are_refused(migrated, user):
    app = make_app(migrated)

    def status(value: str) -> int:
        client = browser(app, cookies={SESSION_COOKIE: value})
        return client.get("/").status_code

    assert status(_cookie(user, age=0)) == 200
    assert status(_cookie(user, age=13 * 3600)) == 401
    assert status(_cookie(user, age=0, key="another key of at least thirty-two chars")) == 401
    payload, _, signature = _cookie(user, age=0).rpartition(".")
    assert status(payload[:-2] + "xx." + signature) == 401
    assert status("garbage") == 401


def test_the_session_slides_when_used(migrated, user):
    app = make_app(migrated)
    fresh = browser(app, cookies={SESSION_COOKIE: _cookie(user, age=10)}).get("/")
    assert fresh.status_code == 200 and "set-cookie" not in fresh.headers
    older = browser(app, cookies={SESSION_COOKIE: _cookie(user, age=11 * 3600)}).get("/")
    assert older.status_code == 200
    renewed = older.headers["set-cookie"]
    assert renewed.startswith(f"{SESSION_COOKIE}=") and "Max-Age=43200" in renewed
    assert older.json()["csrf"] == "csrf-token-of-the-test"  # same session, same token


def test_five_failures_then_429_until_the_window_passes(migrated, user):
    clock = Clock()
    client = browser(make_app(migrated, clock))
    for _ in range(5):
        assert "Wrong name or password." in sign_in(client, password="guess guess").text
    blocked = sign_in(client)  # even the right password waits
    assert blocked.status_code == 429
    assert blocked.headers["retry-after"] == "900"
    assert "Too many failed sign-ins. Try again in 15 minutes, or from a browser" in blocked.text
    assert SESSION_COOKIE not in client.cookies
    clock.now += 15 * 60
    assert sign_in(client).status_code == 303


def test_websockets_need_a_sign_in_too(migrated, client):
    with pytest.raises(WebSocketDisconnect) as refused, client.websocket_connect("/ws"):
        pass
    assert refused.value.code == 1008
    sign_in(client)
    with client.websocket_connect("/ws") as socket:
        assert socket.receive_text() == "hello"


def test_the_login_page_says_how_to_create_the_first_user(migrated):
    page = browser(make_app(migrated)).get("/login", headers=HTML)
    assert "governor users create NAME" in page.text


def test_a_saved_cookie_stops_working_after_logout(migrated, client):
    sign_in(client)
    saved = client.cookies[SESSION_COOKIE]
    token = client.get("/").json()["csrf"]
    assert client.post("/logout", data={"csrf_token": token}).status_code == 303
    replayed = browser(make_app(migrated), cookies={SESSION_COOKIE: saved}).get("/")
    assert replayed.status_code == 401
    assert "no longer valid" in replayed.json()["error"]


def test_others_failures_do_not_lock_out_a_browser_that_signed_in_before(migrated, user):
    app = make_app(migrated)
    mine, attacker, new_laptop = browser(app), browser(app), browser(app)
    assert sign_in(mine).status_code == 303
    assert DEVICE_COOKIE in mine.cookies and mine.cookies[DEVICE_COOKIE] not in PASSWORD
    mine.post("/logout", data={"csrf_token": mine.get("/").json()["csrf"]})
    for _ in range(6):
        sign_in(attacker, password="guess guess")
    assert sign_in(attacker).status_code == 429  # the guesser, even with the right password
    assert sign_in(new_laptop).status_code == 429  # an unknown browser waits for the name
    assert sign_in(mine).status_code == 303  # the real user's browser is not held back
    assert mine.get("/").json()["user"] == "alice"


def test_a_known_browser_is_held_back_after_its_own_failures(migrated, user):
    app = make_app(migrated)
    mine, attacker = browser(app), browser(app)
    assert sign_in(mine).status_code == 303
    mine.post("/logout", data={"csrf_token": mine.get("/").json()["csrf"]})
    with session_scope(migrated) as session:
        service.create_user(session, name="bob", password=PASSWORD, hasher=FAST)
    for name in ("alice", "bob"):
        for _ in range(5):
            sign_in(attacker, name=name, password="guess guess")
    assert sign_in(mine, name="bob").status_code == 429  # the cookie is alice's, not bob's
    for _ in range(5):  # its own five: then it is one more unknown browser
        assert "Wrong name or password." in sign_in(mine, password="guess guess").text
    assert sign_in(mine).status_code == 429
