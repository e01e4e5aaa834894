"""Sign-in for every page and API: the RequireLogin middleware, CSRF checks, /login and /logout.

Every path needs a signed-in user unless it is on the short public list below. A request is
signed in by `Authorization: Bearer gov_…` (an API token) or by the signed session cookie
that `POST /login` sets, whose session must still be live in the database (logout and a new
password end it). Cookie-signed requests that change something must carry the
session's CSRF token; token requests need not (browsers never add them on their own).
"""

import hmac
import json
import logging
import math
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated
from urllib.parse import quote, urlencode, urlsplit

from argon2 import PasswordHasher
from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from itsdangerous import BadData, TimestampSigner, URLSafeTimedSerializer
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers, MutableHeaders
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from governor import __version__
from governor.auth import passwords, service, sessions
from governor.auth.ratelimit import LoginLimiter, name_key
from governor.auth.secret import signing_key
from governor.config import Settings
from governor.errors import DatabaseUnwritable, GovernorError
from governor.storage.db import session_scope
from governor.web.templating import templates

log = logging.getLogger(__name__)

SESSION_COOKIE = "governor_session"
LOGIN_COOKIE = "governor_login"  # the sign-in form's own CSRF token (double submit)
DEVICE_COOKIE = "governor_device"  # this browser signed in as a name before (OWASP device cookie)
DEVICE_MAX_AGE = 90 * 24 * 3600
SESSION_MAX_AGE = int(sessions.IDLE.total_seconds())  # sliding: renewed after SESSION_REFRESH
SESSION_REFRESH = 5 * 60
LOGIN_MAX_AGE = 3600
PUBLIC_PATHS = frozenset({"/healthz", "/webhooks/stripe", "/login"})
PUBLIC_PREFIXES = ("/static/", "/f/")  # static files hold no data; /f/…: signed links
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
FORM_MEDIA_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
MAX_FORM_BYTES = 16 * 1024 * 1024  # read to find csrf_token; larger posts use the header
HINT = "sign in at /login or send Authorization: Bearer <token>"
CONTEXT_KEY = "governor_auth"


@dataclass(frozen=True)
class CurrentUser:
    """Who made the request; for a token without a user, its id and name stand in."""

    id: str
    name: str
    via_token: bool
    token_id: str | None = None
    session_id: str | None = None  # the browser session, for a cookie sign-in


@dataclass(frozen=True)
class _Identity:
    user: CurrentUser
    csrf: str | None  # None for token requests
    renewed_cookie: str | None = None


class SessionCodec:
    """Signs and reads the session cookie, the sign-in form's CSRF cookie and the device cookie.

    The session cookie holds the session's secret (see `auth.sessions`) and its CSRF token; the
    device cookie a user name and a random id that the failed-sign-in limits know it by.
    """

    def __init__(self, key: str, *, clock: Callable[[], float] = time.time) -> None:
        class Signer(TimestampSigner):
            def get_timestamp(self) -> int:
                return int(clock())

        self._clock = clock
        self._session = URLSafeTimedSerializer(key, salt="governor.session", signer=Signer)
        self._login = URLSafeTimedSerializer(key, salt="governor.login", signer=Signer)
        self._device = URLSafeTimedSerializer(key, salt="governor.device", signer=Signer)

    def dump(self, secret: str, csrf: str) -> str:
        """A session cookie value for the session with this secret, signed now."""
        return self._session.dumps({"s": secret, "c": csrf})

    def load(self, cookie: str) -> tuple[dict[str, str], float] | None:
        """The session's data and age in seconds; None when forged, malformed or expired."""
        try:
            data, signed = self._session.loads(
                cookie, max_age=SESSION_MAX_AGE, return_timestamp=True
            )
        except BadData:
            return None
        if not isinstance(data, dict) or not all(
            isinstance(data.get(key), str) for key in ("s", "c")
        ):
            return None
        return data, self._clock() - signed.timestamp()

    def dump_device(self, name: str) -> str:
        """A new device cookie value for a browser that just signed in as `name`."""
        return self._device.dumps({"n": name_key(name), "d": secrets.token_urlsafe(16)})

    def load_device(self, cookie: str | None, *, name: str) -> str | None:
        """The device cookie's id when it is valid and was issued for `name`, else None."""
        if not cookie:
            return None
        try:
            data = self._device.loads(cookie, max_age=DEVICE_MAX_AGE)
        except BadData:
            return None
        if not isinstance(data, dict) or data.get("n") != name_key(name):
            return None
        device = data.get("d")
        return device if isinstance(device, str) and device else None

    def dump_login(self, token: str) -> str:
        """The sign-in form's CSRF cookie value."""
        return self._login.dumps(token)

    def load_login(self, cookie: str | None) -> str | None:
        """The sign-in form's CSRF token; None when missing, forged or older than an hour."""
        if not cookie:
            return None
        try:
            token = self._login.loads(cookie, max_age=LOGIN_MAX_AGE)
        except BadData:
            return None
        return token if isinstance(token, str) and token else None


@dataclass
class AuthContext:
    """What the middleware and the /login routes share; found in `request.state`."""

    engine: Engine
    codec: SessionCodec
    limiter: LoginLimiter
    hasher: PasswordHasher

    def identify(self, authorization: str | None, cookie: str | None) -> _Identity | None:
        """Who the credentials belong to (a blocking call: run it in a thread)."""
        if authorization is not None and authorization[:7].lower() == "bearer ":
            return self._by_token(authorization[7:].strip())
        if cookie:
            return self._by_cookie(cookie)
        return None

    def _by_token(self, token: str) -> _Identity | None:
        with session_scope(self.engine, readonly=True) as session:
            found = service.verify_token(session, token, touch=False)
            if found is None:
                return None
            owner = service.get_user(session, found.user_id) if found.user_id else None
            if found.user_id is not None and owner is None:
                return None
            user = (CurrentUser(owner.id, owner.name, True, found.id) if owner else
                    CurrentUser(found.id, found.name, True, found.id))  # fmt: skip
            due = service.touch_due(found)
        if due:
            self._touch(lambda session: service.verify_token(session, token))
        return _Identity(user, None)

    def _by_cookie(self, cookie: str) -> _Identity | None:
        loaded = self.codec.load(cookie)
        if loaded is None:
            return None
        data, age = loaded
        with session_scope(self.engine, readonly=True) as session:
            found = sessions.find(session, data["s"])
            if found is None:
                return None
            row, user = found
            session_id, due = row.id, sessions.touch_due(row)
            current = CurrentUser(user.id, user.name, False, session_id=session_id)
        if due:
            self._touch(lambda session: sessions.touch(session, session_id=session_id))
        renewed = self.codec.dump(data["s"], data["c"]) if age >= SESSION_REFRESH else None
        return _Identity(current, data["c"], renewed)

    def _touch(self, write: Callable[[Session], object]) -> None:
        """Note a use (at most once a minute); a database that takes no writes skips it."""
        try:
            with session_scope(self.engine) as session:
                write(session)
        except DatabaseUnwritable:
            log.warning("Cannot note a sign-in's use: the database takes no writes")


class RequireLogin:
    """ASGI middleware: every path but the public ones needs a token or a session cookie."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        settings: Settings,
        engine: Engine,
        password_hasher: PasswordHasher = passwords.DEFAULT,
        limiter: LoginLimiter | None = None,
    ) -> None:
        self.app = app
        codec = SessionCodec(signing_key(settings))
        limiter = limiter or LoginLimiter()
        self.context = AuthContext(engine, codec, limiter, password_hasher)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        state = scope.setdefault("state", {})
        state[CONTEXT_KEY] = self.context
        path = _route_path(scope)
        public = path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES)
        if public and path != "/login":  # /login wants to know who is signed in already
            await self.app(scope, receive, send)
            return
        connection = HTTPConnection(scope)
        authorization = connection.headers.get("authorization")
        cookie = connection.cookies.get(SESSION_COOKIE)
        try:
            identity = (await run_in_threadpool(self.context.identify, authorization, cookie)
                        if authorization or cookie else None)  # fmt: skip
        except (GovernorError, SQLAlchemyError):
            log.warning("Cannot check a sign-in: the database is unavailable", exc_info=True)
            if not public:
                error = "Cannot check your sign-in: the database is unavailable."
                await _answer(scope, send, 503, error, hint="See /healthz for its state.")
                return
            identity = None
        if identity is None:
            if not public:
                await _refuse(scope, send, path, authorization=authorization, cookie=cookie)
                return
        else:
            state["user"], state["csrf_token"] = identity.user, identity.csrf or ""
            if identity.csrf is not None and not public and scope.get("method") in UNSAFE_METHODS:
                refusal, receive = await _check_csrf(scope, receive, identity.csrf)
                if refusal is not None:
                    status, error, hint = refusal
                    await _answer(scope, send, status, error, hint=hint)
                    return
            if identity.renewed_cookie is not None and scope["type"] == "http":
                send = _renewing(send, _cookie_header(scope, identity.renewed_cookie))
        await self.app(scope, receive, send)


def _route_path(scope: Scope) -> str:
    """The path the router matches (without the root path the app may be mounted under)."""
    path: str = scope["path"]
    root = scope.get("root_path", "")
    if root and path.startswith(root) and path[len(root) : len(root) + 1] in ("", "/"):
        return path[len(root) :] or "/"
    return path


def _wants_json(scope: Scope, path: str) -> bool:
    if path.startswith("/api/") or path == "/metrics":
        return True
    return "text/html" not in Headers(scope=scope).get("accept", "")


async def _refuse(
    scope: Scope, send: Send, path: str, *, authorization: str | None, cookie: str | None
) -> None:
    if scope["type"] == "websocket":
        await send({"type": "websocket.close", "code": 1008, "reason": "sign-in required"})
        return
    if authorization is None and not _wants_json(scope, path):
        raw = scope.get("raw_path")
        target = raw.decode("latin-1") if raw else quote(scope["path"])
        if scope.get("query_string"):
            target += "?" + scope["query_string"].decode("latin-1")
        location = f"{scope.get('root_path', '')}/login?{urlencode({'next': target})}"
        headers = [(b"location", location.encode("latin-1")), (b"content-length", b"0")]
        if cookie:  # expired or no longer valid: let the browser forget it
            headers.append((b"set-cookie", _cookie_header(scope, "", max_age=0)))
        await send({"type": "http.response.start", "status": 303, "headers": headers})
        await send({"type": "http.response.body", "body": b""})
        return
    if authorization is not None and authorization[:7].lower() == "bearer ":
        error = "The API token is not valid: it is unknown, malformed or revoked."
    elif cookie:
        error = "Your session has expired or is no longer valid."
    else:
        error = "Sign-in required."
    await _answer(scope, send, 401, error, hint=HINT,
                  extra=((b"www-authenticate", b'Bearer realm="governor"'),))  # fmt: skip


async def _answer(
    scope: Scope,
    send: Send,
    status: int,
    error: str,
    *,
    hint: str,
    extra: tuple[tuple[bytes, bytes], ...] = (),
) -> None:
    if scope["type"] == "websocket":
        await send({"type": "websocket.close", "code": 1011 if status >= 500 else 1008})
        return
    body = json.dumps({"error": error, "hint": hint})
    response = Response(body, status_code=status, media_type="application/json")
    response.raw_headers.extend(extra)
    await response(scope, _no_receive, send)


async def _no_receive() -> Message:
    """A receive channel with nothing (more) to read."""
    return {"type": "http.disconnect"}


async def _check_csrf(
    scope: Scope, receive: Receive, expected: str
) -> tuple[tuple[int, str, str] | None, Receive]:
    """None when the request carries the session's CSRF token, else (status, error, hint).

    The token comes from the X-CSRF-Token header or a form's `csrf_token` field; a form's
    body is read here and handed on unchanged, so the route still gets it.
    """
    headers = Headers(scope=scope)
    sent = headers.get("x-csrf-token")
    if sent is None:
        media_type = headers.get("content-type", "").split(";")[0].strip().lower()
        if media_type in FORM_MEDIA_TYPES:
            body = await _read_body(receive)
            if body is None:
                return (413, "The form is too large to look for its CSRF token in.",
                        "Send the token in the X-CSRF-Token header."), receive  # fmt: skip
            sent = await _form_field(scope, body, "csrf_token")
            receive = _replay(body, receive)
    if sent is not None and hmac.compare_digest(sent.encode(), expected.encode()):
        return None, receive
    return (403, "The CSRF token is missing or wrong, so this change was refused.",
            "Reload the page and submit again; scripts send the X-CSRF-Token header or use "
            "an API token (Authorization: Bearer)."), receive  # fmt: skip


async def _read_body(receive: Receive) -> bytes | None:
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_FORM_BYTES:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    """A receive channel that gives the already-read body once, then the client's messages."""
    pending = [{"type": "http.request", "body": body, "more_body": False}]

    async def replayed() -> Message:
        return pending.pop() if pending else await receive()

    return replayed


async def _form_field(scope: Scope, body: bytes, name: str) -> str | None:
    try:
        form = await Request(scope, _replay(body, _no_receive)).form()
    except (HTTPException, MultiPartException):  # malformed: no token (the route says more)
        return None
    try:
        value = form.get(name)
        return value if isinstance(value, str) else None
    finally:
        await form.close()


def _renewing(send: Send, header: bytes) -> Send:
    """Add the renewed session cookie, unless the route set or cleared the cookie itself."""
    prefix = SESSION_COOKIE.encode() + b"="

    async def renewing(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = MutableHeaders(scope=message)
            if not any(v.encode("latin-1").startswith(prefix)
                       for v in headers.getlist("set-cookie")):  # fmt: skip
                headers.append("set-cookie", header.decode("latin-1"))
        await send(message)

    return renewing


def _is_https(scope: Scope) -> bool:
    return scope.get("scheme") in ("https", "wss")


def _cookie_header(scope: Scope, value: str, *, max_age: int = SESSION_MAX_AGE) -> bytes:
    response = Response()
    _set_session_cookie(response, scope, value, max_age=max_age)
    return response.raw_headers[-1][1]


def _set_session_cookie(
    response: Response, scope: Scope, value: str, *, max_age: int = SESSION_MAX_AGE
) -> None:
    response.set_cookie(SESSION_COOKIE, value, max_age=max_age, path="/", httponly=True,
                        samesite="lax", secure=_is_https(scope))  # fmt: skip


def safe_next(value: str | None) -> str:
    """`value` when it is a path on this site, else "/" (no open redirects like //evil.com)."""
    if not value or not value.startswith("/") or value.startswith("//"):
        return "/"
    if "\\" in value or any(ord(char) < 0x20 or ord(char) == 0x7F for char in value):
        return "/"  # browsers read "/\evil.com" as "//evil.com" and drop tabs and newlines
    parts = urlsplit(value)
    if parts.scheme or parts.netloc or parts.path in ("/login", "/logout"):
        return "/"
    return value


def current_user(request: HTTPConnection) -> CurrentUser | None:
    """Who is signed in for this request (None on public paths when nobody is)."""
    user = getattr(request.state, "user", None)
    return user if isinstance(user, CurrentUser) else None


def csrf_token(request: HTTPConnection) -> str:
    """The token that forms posting on this page must carry as `csrf_token` ("" if none)."""
    return str(getattr(request.state, "csrf_token", "") or "")


router = APIRouter()


def _context(request: Request) -> AuthContext:
    context = request.scope.get("state", {}).get(CONTEXT_KEY)
    if not isinstance(context, AuthContext):
        raise RuntimeError("The /login routes need the RequireLogin middleware on the app.")
    return context


def _setup_notice(context: AuthContext) -> str | None:
    try:
        with session_scope(context.engine, readonly=True) as session:
            if service.has_users(session):
                return None
    except (GovernorError, SQLAlchemyError):
        return ("Sign-in is unavailable: the database is not ready. Run `governor db upgrade` "
                "and see /healthz.")  # fmt: skip
    return "Nobody can sign in yet. Create the first user with `governor users create NAME`."


def _login_page(
    request: Request,
    *,
    next: str,
    status: int = 200,
    error: str | None = None,
    name: str = "",
    token: str | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    context = _context(request)
    token = token or secrets.token_urlsafe(32)
    request.state.csrf_token = token
    root = request.scope.get("root_path", "")
    page = {"version": __version__, "next": safe_next(next), "error": error, "name": name,
            "notice": _setup_notice(context), "action": f"{root}/login"}  # fmt: skip
    response = templates.TemplateResponse(
        request, "login.html", page, status_code=status, headers=headers
    )
    response.set_cookie(LOGIN_COOKIE, context.codec.dump_login(token), max_age=LOGIN_MAX_AGE,
                        path=f"{root}/login", httponly=True, samesite="lax",
                        secure=_is_https(request.scope))  # fmt: skip
    return response


@router.get("/login", response_class=HTMLResponse, include_in_schema=False)
def login_form(request: Request, next: str = "/") -> Response:
    """The sign-in form (straight on to `next` when already signed in)."""
    user = current_user(request)
    if user is not None and not user.via_token:
        return RedirectResponse(safe_next(next), status_code=303)
    return _login_page(request, next=next)


def _wait_text(seconds: int) -> str:
    minutes = math.ceil(seconds / 60)
    return f"{minutes} minute{'s' if minutes != 1 else ''}" if seconds > 60 else f"{seconds} s"


@router.post("/login", include_in_schema=False)
def login(
    request: Request,
    name: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    """Check the name and password; on success a new session and on to `next`."""
    context = _context(request)
    ip = request.client.host if request.client else "unknown"
    device = context.codec.load_device(request.cookies.get(DEVICE_COOKIE), name=name)
    wait = context.limiter.retry_after(ip=ip, name=name, device=device)
    if wait > 0:
        seconds = math.ceil(wait)
        log.warning("Sign-in refused for %s s after repeated failures from %s", seconds, ip)
        error = (f"Too many failed sign-ins. Try again in {_wait_text(seconds)}, or from a "
                 "browser you have signed in with before.")  # fmt: skip
        return _login_page(request, next=next, status=429, name=name, error=error,
                           headers={"Retry-After": str(seconds)})  # fmt: skip
    expected = context.codec.load_login(request.cookies.get(LOGIN_COOKIE))
    if expected is None or not hmac.compare_digest(csrf_token.encode(), expected.encode()):
        return _login_page(request, next=next, status=403, name=name, error="This sign-in form "
                           "expired or was opened elsewhere. Please sign in again.")  # fmt: skip
    signed_in: tuple[str, str] | None = None  # (user name, session cookie)
    try:
        with session_scope(context.engine) as session:
            user = service.authenticate(session, name=name, password=password,
                                        hasher=context.hasher)  # fmt: skip
            if user is not None:  # a new session and CSRF token: no session fixation
                agent = request.headers.get("user-agent")
                _, secret = sessions.start(session, user=user, ip=ip, user_agent=agent)
                signed_in = user.name, context.codec.dump(secret, secrets.token_urlsafe(32))
    except (GovernorError, SQLAlchemyError):
        log.warning("Sign-in failed: the database is unavailable", exc_info=True)
        return _login_page(request, next=next, status=503, name=name, token=expected,
                           error="Sign-in is unavailable right now; try again later.")  # fmt: skip
    if signed_in is None:
        context.limiter.failed(ip=ip, name=name, device=device)
        log.info("Failed sign-in from %s", ip)
        return _login_page(request, next=next, name=name, token=expected,
                           error="Wrong name or password.")  # fmt: skip
    context.limiter.succeeded(name=name, device=device)
    log.info("Signed in: %s from %s", signed_in[0], ip)
    root = request.scope.get("root_path", "")
    response = RedirectResponse(safe_next(next), status_code=303)
    _set_session_cookie(response, request.scope, signed_in[1])
    response.delete_cookie(LOGIN_COOKIE, path=f"{root}/login", httponly=True, samesite="lax",
                           secure=_is_https(request.scope))  # fmt: skip
    response.set_cookie(DEVICE_COOKIE, context.codec.dump_device(name), max_age=DEVICE_MAX_AGE,
                        path=f"{root}/login", httponly=True, samesite="lax",
                        secure=_is_https(request.scope))  # fmt: skip
    return response


@router.post("/logout", include_in_schema=False)
def logout(request: Request) -> Response:
    """End the session (a saved copy of the cookie stops working too) and go to the sign-in form."""
    user = current_user(request)
    if user is not None and user.session_id is not None:
        with session_scope(_context(request).engine) as session:
            sessions.end(session, user_id=user.id, session_id=user.session_id)
    response = RedirectResponse(f"{request.scope.get('root_path', '')}/login", status_code=303)
    _set_session_cookie(response, request.scope, "", max_age=0)
    return response
