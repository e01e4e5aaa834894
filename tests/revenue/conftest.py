"""Fixtures: a Stripe stand-in on loopback, Governor's web app in front of a migrated database,
and helpers to deliver the stand-in's events and read the ledger back."""

from collections.abc import Iterator
from typing import Any

import pytest
import stripe
from sqlalchemy import select
from sqlalchemy.engine import Engine

from governor.config import get_settings
from governor.demo.background_server import BackgroundServer
from governor.demo.stripe_server import Clock, StripeServer, StripeStore
from governor.models import LedgerEntry
from governor.revenue import service
from governor.revenue.stripe_api import close_client, stripe_client
from governor.storage.db import session_scope
from governor.web.app import create_app

START = 1_767_225_600  # 2026-01-01T00:00:00Z
SECRET = "whsec_governor_test"


@pytest.fixture
def store() -> StripeStore:
    return StripeStore(clock=Clock(START), seed=7)


@pytest.fixture
def stand_in(store: StripeStore, monkeypatch: pytest.MonkeyPatch) -> Iterator[StripeServer]:
    """The stand-in, configured as Governor's Stripe API (key, base) and webhook secret."""
    with StripeServer(store) as server:
        monkeypatch.setenv("GOVERNOR_STRIPE_API_KEY", "rk_test_governor_readonly")
        monkeypatch.setenv("GOVERNOR_STRIPE_API_BASE", server.url)
        monkeypatch.setenv("GOVERNOR_STRIPE_WEBHOOK_SECRETS", f"whsec_old_one,{SECRET}")
        get_settings.cache_clear()
        yield server


@pytest.fixture
def client(stand_in: StripeServer) -> Iterator[stripe.StripeClient]:
    """A Stripe client of Governor's, pointed at the stand-in (settings read now)."""
    get_settings.cache_clear()
    made = stripe_client()
    yield made
    close_client(made)


@pytest.fixture
def webhook_url(migrated: Engine, stand_in: StripeServer) -> Iterator[str]:
    """Governor's webhook endpoint, served for real (the task scheduler is not running)."""
    with BackgroundServer(create_app(get_settings())) as server:
        yield f"{server.url}/webhooks/stripe"


def deliver(stand_in: StripeServer, url: str, **options: Any) -> list[int]:
    """POST every recorded event, signed; the status codes Governor answered."""
    return [d.status_code for d in stand_in.deliver(url, SECRET, **options)]


def process(engine: Engine) -> service.process.Handled:
    """Handle the inbox now, as the system task would."""
    return service.process_inbox(engine, get_settings())


def ledger(engine: Engine) -> list[dict[str, Any]]:
    """The ledger as comparable rows (no ids or bookkeeping times), sorted."""
    fields = ("kind", "source_ref", "amount_minor", "currency", "status", "occurred_at",
              "balance_transaction_id", "charge_id", "order_id", "offer_id", "idea_id")  # fmt: skip
    with session_scope(engine, readonly=True) as session:
        rows = session.scalars(
            select(LedgerEntry).order_by(LedgerEntry.kind, LedgerEntry.source_ref)
        )
        return [{name: getattr(row, name) for name in fields} for row in rows]
