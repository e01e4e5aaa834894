"""The webhook door: verify Stripe's signature, store the event once, wake the inbox's handler."""

import json
from collections.abc import Sequence
from concurrent.futures import Future
from datetime import timedelta
from typing import Any

import stripe
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from governor.errors import BadInput, ConfigError
from governor.models.types import utcnow
from governor.revenue import inbox, pressure
from governor.storage.group_commit import GroupCommit
from governor.tasks import service

TOLERANCE_S = 300
PROCESS_TYPE = "revenue.process_events"
DRAIN_DELAY_S = 0.25


class RejectedWebhook(BadInput):
    """A webhook that is not a verified Stripe event: answered 400, nothing stored."""


def verify(payload: bytes, header: str | None, secrets: list[str]) -> dict[str, Any]:
    """The event, if `header` signs `payload` with one of `secrets` (v1, 300 s tolerance)."""
    if not secrets:
        raise ConfigError(
            "No webhook signing secret is configured, so no Stripe event can be trusted.",
            hint="Set GOVERNOR_STRIPE_WEBHOOK_SECRETS to the endpoint's whsec_… secret(s).",
        )
    if not header:
        raise RejectedWebhook("Missing Stripe-Signature header.")
    text = payload.decode("utf-8", errors="replace")
    for secret in secrets:  # several during a rotation: the old and the new secret
        try:
            stripe.WebhookSignature.verify_header(text, header, secret, TOLERANCE_S)
            break
        except stripe.SignatureVerificationError:
            continue
    else:
        raise RejectedWebhook(
            "The Stripe-Signature header does not match the body with any configured secret, "
            f"or is older than {TOLERANCE_S} s."
        )
    try:
        event = json.loads(text)
    except json.JSONDecodeError:
        raise RejectedWebhook("The signed body is not JSON.") from None
    if not _is_event(event):
        raise RejectedWebhook(
            "The signed body is not a Stripe event: it needs object 'event', a string id and "
            "type, an integer created and a data.object."
        )
    return event


def _is_event(event: Any) -> bool:
    """Whether a body has what the inbox stores (checked here, so it cannot fail a batch)."""
    return (
        isinstance(event, dict)
        and event.get("object") == "event"
        and isinstance(event.get("id"), str)
        and isinstance(event.get("type"), str)
        and isinstance(event.get("created"), int)
        and isinstance((event.get("data") or {}).get("object"), dict)
    )


class Receiver:
    """Stores verified events in group commits and queues the inbox's handler to follow them.

    Concurrent deliveries share transactions: under load one commit stores many events, and
    each delivery is answered as soon as the commit that holds its event is done. The handler
    is queued at most once per DRAIN_DELAY_S (an idempotency key per period), a little later,
    so that a burst is handled by a few runs rather than one per commit.
    """

    def __init__(self, engine: Engine) -> None:
        self._queued_period = -1
        self._commit = GroupCommit(engine, self._write, name="governor-webhooks")

    def receive(self, event: dict[str, Any]) -> "Future[None]":
        """Queue the event; the Future resolves once it is committed (a repeat changes nothing)."""
        return self._commit.submit(event)

    def _write(self, session: Session, events: Sequence[dict[str, Any]]) -> list[None]:
        inbox.store(session, list(events), origin="webhook")
        pressure.note_arrival()
        now = utcnow()
        period = int(now.timestamp() / DRAIN_DELAY_S)
        if period != self._queued_period:
            service.submit(session, PROCESS_TYPE, not_before=now + timedelta(seconds=DRAIN_DELAY_S),
                           idempotency_key=f"{PROCESS_TYPE}:{period}")  # fmt: skip
            self._queued_period = period
        return [None] * len(events)
