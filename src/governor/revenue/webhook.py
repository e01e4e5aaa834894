"""The webhook door: verify Stripe's signature, store the event once, wake the inbox's handler."""

import json
import time
from collections.abc import Sequence
from concurrent.futures import Future
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
import stripe
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from governor.errors import BadInput, ConfigError
from governor.models.revenue import STRIPE_ID
from governor.models.types import utcnow
from governor.revenue import inbox, pressure
from governor.storage.group_commit import GroupCommit
from governor.tasks import service

TOLERANCE_S = 300
"""How old a signature may be (Stripe's libraries' default); the future has its own setting."""
PROCESS_TYPE = "revenue.process_events"
DRAIN_DELAY_S = 0.25
MAX_DEPTH = 64
"""Deepest nesting of a stored event; Stripe's events, expanded objects included, use ~10."""
CREATED_RANGE = (946_684_800, 7_258_118_400)
"""The `created` seconds an event may have: from 2000 to 2200 (Stripe began in 2011)."""
MAX_TYPE = 100  # the stripe_events.type column
NOT_HELD = "The signed body is not a Stripe event the inbox can hold"
TOO_DEEP = f"nested too deep (more than {MAX_DEPTH} levels)"


class RejectedWebhook(BadInput):
    """A webhook that is not a verified Stripe event: answered 400, nothing stored."""


def verify(
    payload: bytes, header: str | None, secrets: list[str], *, future_s: int = TOLERANCE_S
) -> dict[str, Any]:
    """The event, if `header` signs `payload` with one of `secrets` (v1) at a time no more than
    TOLERANCE_S ago nor `future_s` ahead, and the event is one the inbox can hold."""
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
    if _signed_at(header) > time.time() + future_s:  # a replay window that would never close
        raise RejectedWebhook(
            f"The Stripe-Signature time is more than {future_s} s in the future; check this "
            "server's clock (GOVERNOR_WEBHOOK_FUTURE_TOLERANCE_S allows for skew)."
        )
    event = _parse(text)
    problem = _problem(event)
    if problem:
        raise RejectedWebhook(f"{NOT_HELD}: {problem}.")
    return event


def _signed_at(header: str) -> int:
    """The first `t=` of a Stripe-Signature header that verified: the one Stripe's check used."""
    pairs = (part.split("=", 1) for part in header.split(","))
    return next(int(pair[1]) for pair in pairs if pair[0] == "t")


def _parse(text: str) -> Any:
    """The JSON of a signed body, refusing what Stripe never sends (NaN, Infinity, deep nesting)."""

    def constant(name: str) -> None:
        raise RejectedWebhook(f"The signed body holds {name}, which is not JSON.")

    try:
        return json.loads(text, parse_constant=constant)
    except json.JSONDecodeError:
        raise RejectedWebhook("The signed body is not JSON.") from None
    except RecursionError:
        raise RejectedWebhook(f"{NOT_HELD}: {TOO_DEEP}.") from None


def _problem(event: Any) -> str | None:
    """What keeps a parsed body out of the inbox, or None (checked here: it cannot fail a batch)."""
    if not isinstance(event, dict) or event.get("object") != "event":
        return "it needs object 'event'"
    event_id, kind, created = event.get("id"), event.get("type"), event.get("created")
    if not isinstance(event_id, str) or not 0 < len(event_id) <= STRIPE_ID:
        return f"its id must be a string of 1 to {STRIPE_ID} characters"
    if not isinstance(kind, str) or not 0 < len(kind) <= MAX_TYPE:
        return f"its type must be a string of 1 to {MAX_TYPE} characters"
    low, high = CREATED_RANGE
    if type(created) is not int or not low <= created < high:
        return f"its created must be whole Unix seconds between {low} and {high}"
    data = event.get("data")
    if not isinstance(data, dict) or not isinstance(data.get("object"), dict):
        return "it needs a data.object"
    return _unstorable(event)


def _unstorable(event: dict[str, Any]) -> str | None:
    """Why a JSON value cannot be stored as it is (too deep, NUL, lone surrogate), or None."""
    stack: list[tuple[Any, int]] = [(event, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict | list):
            if depth > MAX_DEPTH:
                return TOO_DEEP
            items = value.items() if isinstance(value, dict) else enumerate(value)
            for key, item in items:
                stack.append((item, depth + 1))
                if isinstance(key, str):
                    stack.append((key, depth))
        elif isinstance(value, str):
            if "\x00" in value:
                return "a string holds a NUL character, which the database cannot store"
            if not value.isascii():
                try:
                    value.encode("utf-8")
                except UnicodeEncodeError:
                    return "a string holds a lone surrogate, which is not Unicode text"
    return None


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
            # Only once committed: a transaction that fails is written again (in halves).
            sa.event.listen(session, "after_commit", lambda _: self._queued(period), once=True)
        return [None] * len(events)

    def _queued(self, period: int) -> None:
        """The handler of this period is committed: later commits in it need not queue it."""
        self._queued_period = period
