"""The webhook door: verify Stripe's signature, store the event once, wake the inbox's handler."""

import json
from typing import Any

import stripe
from sqlalchemy.engine import Engine

from governor.errors import BadInput, ConfigError
from governor.models import ExecutionTask
from governor.revenue import inbox
from governor.storage.db import session_scope
from governor.tasks import service

TOLERANCE_S = 300
PROCESS_TYPE = "revenue.process_events"


class InvalidSignature(BadInput):
    """A webhook whose signature does not verify: answered 400, nothing stored."""


def verify(payload: bytes, header: str | None, secrets: list[str]) -> dict[str, Any]:
    """The event, if `header` signs `payload` with one of `secrets` (v1, 300 s tolerance)."""
    if not secrets:
        raise ConfigError(
            "No webhook signing secret is configured, so no Stripe event can be trusted.",
            hint="Set GOVERNOR_STRIPE_WEBHOOK_SECRETS to the endpoint's whsec_… secret(s).",
        )
    if not header:
        raise InvalidSignature("Missing Stripe-Signature header.")
    text = payload.decode("utf-8", errors="replace")
    for secret in secrets:  # several during a rotation: the old and the new secret
        try:
            stripe.WebhookSignature.verify_header(text, header, secret, TOLERANCE_S)
            break
        except stripe.SignatureVerificationError:
            continue
    else:
        raise InvalidSignature(
            "The Stripe-Signature header does not match the body with any configured secret, "
            f"or is older than {TOLERANCE_S} s."
        )
    try:
        event = json.loads(text)
    except json.JSONDecodeError:
        raise InvalidSignature("The signed body is not JSON.") from None
    if not isinstance(event, dict) or event.get("object") != "event":
        raise InvalidSignature("The signed body is not a Stripe event.")
    return event


class Receiver:
    """Stores verified events and keeps one inbox drain queued while events wait."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._drain_id: str | None = None

    def receive(self, event: dict[str, Any]) -> None:
        """Commit the event (a repeat changes nothing) and make sure a drain will see it."""
        with session_scope(self.engine) as session:
            inbox.store(session, [event], origin="webhook")
            if self._drain_id is not None:
                queued = session.get(ExecutionTask, self._drain_id)
                if queued is not None and queued.status == "pending":
                    return
            self._drain_id = service.submit(session, PROCESS_TYPE)
