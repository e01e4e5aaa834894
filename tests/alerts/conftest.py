"""Alert tests' fixtures: real receivers on loopback, their Apprise URLs (with secrets), alerts."""

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from governor.alerts import send
from governor.alerts.service import raise_alert
from governor.storage.db import session_scope
from tests.support.ports import free_port
from tests.support.receivers import HTTPReceiver, SMTPReceiver, http_receiver, smtp_receiver

TOKEN = "tok3n-in-the-path"
PASSWORD = "pa55-in-the-url"
SECRETS = (TOKEN, PASSWORD)

RaiseAlert = Callable[..., str]


@pytest.fixture(autouse=True)
def _short_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(send, "BACKOFF_SECONDS", 0.01)


@pytest.fixture
def receiver() -> Iterator[HTTPReceiver]:
    with http_receiver() as found:
        yield found


@pytest.fixture
def mailbox() -> Iterator[SMTPReceiver]:
    with smtp_receiver("alice", PASSWORD) as found:
        yield found


@pytest.fixture
def json_url(receiver: HTTPReceiver) -> str:
    """Apprise's JSON webhook to the receiver, a token in its path."""
    return f"json://127.0.0.1:{receiver.port}/hooks/{TOKEN}"


@pytest.fixture
def mail_url(mailbox: SMTPReceiver) -> str:
    """Apprise's plain SMTP (no TLS) to the mailbox, signing in with a password."""
    return (f"mailto://alice:{PASSWORD}@127.0.0.1:{mailbox.port}"
            "?smtp=127.0.0.1&from=governor@example.com&to=ops@example.com")  # fmt: skip


@pytest.fixture
def dead_url() -> str:
    """A JSON webhook to a port nothing listens on."""
    return f"json://127.0.0.1:{free_port()}/dead/{TOKEN}"


@pytest.fixture
def raise_(migrated: Engine) -> RaiseAlert:
    """Raise (or see again) an alert in its own unit of work; its id."""

    def apply(fingerprint: str = "failed_charge:ch_1", severity: int = 5, **fields: Any) -> str:
        values = {
            "kind": "failed_charge",
            "title": "Charge ch_1 of 5.00 USD failed: declined",
            "details": {"stripe_id": "ch_1", "drilldown": "/orders?q=ch_1"},
            **fields,
        }
        with session_scope(migrated) as session:
            return raise_alert(session, fingerprint=fingerprint, severity=severity,
                               **values).id  # fmt: skip

    return apply
