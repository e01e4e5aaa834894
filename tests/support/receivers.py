"""Real receivers of notifications on 127.0.0.1: an HTTP endpoint (Apprise json://) and SMTP."""

import email
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email.message import Message
from http.server import BaseHTTPRequestHandler
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from tests.support.http_server import ThreadedServer
from tests.support.ports import free_port


@dataclass(frozen=True)
class Posted:
    """One request the HTTP receiver answered: its path, JSON body and the status it got."""

    path: str
    body: Any
    status: int


class HTTPReceiver(ThreadedServer):
    """Answers every POST with `status` (change it while running) and keeps what arrived."""

    def __init__(self, status: int = 200) -> None:
        self.status = status
        self.posted: list[Posted] = []
        self._lock = threading.Lock()
        super().__init__(_handler(self))

    def record(self, path: str, raw: bytes) -> int:
        """Keep one arrival; the status to answer it with."""
        with self._lock:
            self.posted.append(Posted(path, json.loads(raw or b"null"), self.status))
            return self.status

    def delivered(self) -> list[Any]:
        """The bodies of the requests answered with a success."""
        with self._lock:
            return [p.body for p in self.posted if p.status < 300]


def _handler(receiver: HTTPReceiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self.send_response(receiver.record(self.path, raw))
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            """Stay quiet."""

    return Handler


@contextmanager
def http_receiver(status: int = 200) -> Iterator[HTTPReceiver]:
    """An HTTPReceiver listening for the duration of a with block."""
    receiver = HTTPReceiver(status).start()
    try:
        yield receiver
    finally:
        receiver.stop()


class SMTPReceiver:
    """Accepts mail; offers sign-in without TLS, which succeeds only for `user` and `password`."""

    def __init__(self, user: str, password: str) -> None:
        self.credentials = LoginPassword(user.encode(), password.encode())
        self.messages: list[Message] = []
        self.logins: list[str] = []
        self.port = free_port()

    def authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        if data != self.credentials:
            return AuthResult(success=False)
        self.logins.append(data.login.decode())
        return AuthResult(success=True)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or b""
        self.messages.append(email.message_from_bytes(content))
        return "250 OK"


@contextmanager
def smtp_receiver(user: str, password: str) -> Iterator[SMTPReceiver]:
    """An SMTPReceiver (aiosmtpd) on 127.0.0.1 for the duration of a with block."""
    receiver = SMTPReceiver(user, password)
    controller = Controller(
        receiver, hostname="127.0.0.1", port=receiver.port, authenticator=receiver.authenticate,
        auth_require_tls=False,
    )  # fmt: skip
    controller.start()
    try:
        yield receiver
    finally:
        controller.stop()
