"""Checkout Sessions in the stand-in: open, pay (card or async), expire, recover, each recording
the events Stripe sends, in Stripe's order (mixed into StripeStore)."""

import copy
import threading
from typing import Any, Literal, Protocol

from governor.demo.stripe_server import checkout_objects, objects
from governor.demo.stripe_server.objects import Obj

Outcome = Literal["succeeded", "declined", "processing"]
DAY = 86_400


class _Store(Protocol):
    _lock: threading.RLock
    _objects: dict[str, dict[str, Obj]]
    _line_items: dict[str, list[Obj]]
    _intent_metadata: dict[str, dict[str, str]]

    def _when(self, created: int | None) -> int: ...
    def _new_id(self, prefix: str, kind: str) -> str: ...
    def _put(self, kind: str, obj: Obj) -> None: ...
    def _require(self, kind: str, object_id: str) -> Obj: ...
    def _emit(self, type: str, obj: Obj, when: int, previous: Obj | None = None) -> None: ...
    def _charge_txn(self, ch: Obj, fee: int | None, when: int) -> Obj: ...


class CheckoutScenarios:
    """The scenario API of Checkout Sessions (Stripe sends no event when one opens)."""

    def open_session(
        self: _Store,
        amount: int,
        currency: str = "usd",
        *,
        quantity: int = 1,
        name: str = "Offer",
        price: str | None = None,
        metadata: dict[str, str] | None = None,
        intent_metadata: dict[str, str] | None = None,
        payment_link: str | None = None,
        customer: str | None = None,
        customer_email: str | None = None,
        client_reference_id: str | None = None,
        recovery: bool = False,
        success_url: str | None = None,
        cancel_url: str | None = None,
        expires_in: int = DAY,
        created: int | None = None,
        recovered_from: str | None = None,
    ) -> Obj:
        """An open payment-mode session for `quantity` times `amount` (minor units)."""
        if amount < 0 or quantity < 1:
            raise ValueError("amount must be >= 0 and quantity >= 1")
        currency = currency.lower()
        with self._lock:
            when = self._when(created)
            cs_id = self._new_id("cs_test", "checkout_sessions")
            item = checkout_objects.line_item(
                self._new_id("li", "checkout_sessions"),
                price=price or self._new_id("price", "checkout_sessions"),
                amount=amount, currency=currency, quantity=quantity, name=name,
                product=self._new_id("prod", "checkout_sessions"),
            )  # fmt: skip
            cs = checkout_objects.session(
                cs_id, items=[item], currency=currency, created=when, expires_at=when + expires_in,
                metadata=dict(metadata or {}), customer=customer, customer_email=customer_email,
                client_reference_id=client_reference_id, payment_link=payment_link,
                recovered_from=recovered_from, recovery=recovery, success_url=success_url,
                cancel_url=cancel_url,
            )  # fmt: skip
            self._intent_metadata[cs_id] = dict(intent_metadata or {})
            self._line_items[cs_id] = [item]
            self._put("checkout_sessions", cs)
            return copy.deepcopy(cs)

    def pay_session(
        self: _Store,
        session_id: str,
        outcome: Outcome = "succeeded",
        *,
        email: str | None = "buyer@example.com",
        name: str | None = None,
        customer: str | None = None,
        created: int | None = None,
    ) -> Obj:
        """The buyer pays: a card that succeeds (charge.succeeded, payment_intent.succeeded,
        checkout.session.completed) or is declined (charge.failed,
        payment_intent.payment_failed; the session stays open), or an async method that is
        `processing` (charge.pending, payment_intent.processing, checkout.session.completed
        unpaid) until settle_session."""
        with self._lock:
            cs = self._require("checkout_sessions", session_id)
            if cs["status"] != "open":
                raise ValueError(f"{session_id} is {cs['status']}, not open")
            when = self._when(created)
            buyer = customer or cs["customer"]
            pi_id = cs["payment_intent"] or self._new_id("pi", "payment_intents")
            ch = objects.charge(
                self._new_id("ch", "charges"), amount=cs["amount_total"], currency=cs["currency"],
                created=when, payment_intent=pi_id, succeeded=outcome != "declined",
                customer=buyer, description=None, metadata=dict(self._intent_metadata[session_id]),
                failure_code="card_declined" if outcome == "declined" else None,
                failure_message="Your card was declined." if outcome == "declined" else None,
            )  # fmt: skip
            if outcome == "processing":
                ch.update(status="pending", paid=False)
            self._put("charges", ch)
            pi = objects.payment_intent(pi_id, ch)
            if outcome == "processing":
                pi.update(status="processing", amount_received=0)
            _put_intent(self, pi)
            cs["payment_intent"] = pi_id
            if outcome == "declined":
                self._emit("charge.failed", ch, when)
                self._emit("payment_intent.payment_failed", pi, when)
                return copy.deepcopy(cs)
            if outcome == "succeeded":
                self._charge_txn(ch, None, when)
                self._emit("charge.succeeded", ch, when)
                self._emit("payment_intent.succeeded", pi, when)
            else:
                self._emit("charge.pending", ch, when)
                self._emit("payment_intent.processing", pi, when)
            cs.update(status="complete", url=None, customer=buyer,
                      payment_status="paid" if outcome == "succeeded" else "unpaid",
                      customer_details=checkout_objects.customer_details(
                          email or cs["customer_email"], name))  # fmt: skip
            self._emit("checkout.session.completed", copy.deepcopy(cs), when)
            return copy.deepcopy(cs)

    def settle_session(
        self: _Store, session_id: str, *, succeeded: bool, created: int | None = None
    ) -> Obj:
        """An async payment settles: charge, intent, then checkout.session.async_payment_*."""
        with self._lock:
            cs = self._require("checkout_sessions", session_id)
            pi = self._require("payment_intents", cs["payment_intent"] or "")
            ch = self._require("charges", pi["latest_charge"])
            if ch["status"] != "pending":
                raise ValueError(f"{session_id} has no payment waiting to settle")
            when = self._when(created)
            if succeeded:
                ch.update(status="succeeded", paid=True)
                self._charge_txn(ch, None, when)
                pi.update(status="succeeded", amount_received=ch["amount"])
                cs["payment_status"] = "paid"
                events = ("charge.succeeded", "payment_intent.succeeded")
            else:
                ch.update(status="failed", captured=False, amount_captured=0,
                          failure_code="insufficient_funds",
                          failure_message="The account has insufficient funds.")  # fmt: skip
                pi.update(status="requires_payment_method", last_payment_error={
                    "charge": ch["id"], "code": "insufficient_funds",
                    "message": ch["failure_message"], "type": "card_error"})  # fmt: skip
                events = ("charge.failed", "payment_intent.payment_failed")
            self._emit(events[0], ch, when)
            self._emit(events[1], pi, when)
            outcome = "succeeded" if succeeded else "failed"
            self._emit(f"checkout.session.async_payment_{outcome}", copy.deepcopy(cs), when)
            return copy.deepcopy(cs)

    def expire_session(self: _Store, session_id: str, created: int | None = None) -> Obj:
        """Expire an open session (checkout.session.expired); an intent it made is canceled
        (payment_intent.canceled): the buyer got as far as paying."""
        with self._lock:
            cs = self._require("checkout_sessions", session_id)
            if cs["status"] != "open":
                raise ValueError(f"{session_id} is {cs['status']}, not open")
            when = self._when(created)
            cs.update(status="expired", url=None)
            if cs["after_expiration"] is not None:
                cs["after_expiration"]["recovery"] = checkout_objects.recovery_url(cs["id"], when)
            self._emit("checkout.session.expired", copy.deepcopy(cs), when)
            if cs["payment_intent"] is not None:
                pi = self._require("payment_intents", cs["payment_intent"])
                pi.update(status="canceled", cancellation_reason="abandoned", canceled_at=when)
                self._emit("payment_intent.canceled", pi, when)
            return copy.deepcopy(cs)

    def recover_session(self: Any, session_id: str, created: int | None = None) -> Obj:
        """The buyer follows an expired session's recovery link: a new open session with
        `recovered_from` naming the expired one (same items and metadata)."""
        with self._lock:
            old = self._require("checkout_sessions", session_id)
            if old["status"] != "expired" or old["after_expiration"] is None:
                raise ValueError(f"{session_id} is not an expired session with recovery enabled")
            item = self._line_items[session_id][0]
            new: Obj = self.open_session(
                item["price"]["unit_amount"], old["currency"], quantity=item["quantity"],
                name=item["description"], price=item["price"]["id"], metadata=old["metadata"],
                intent_metadata=self._intent_metadata[session_id], payment_link=old["payment_link"],
                customer=old["customer"], customer_email=old["customer_email"],
                success_url=old["success_url"], cancel_url=old["cancel_url"], created=created,
                recovered_from=session_id,
            )  # fmt: skip
            return new

    def line_items(self: _Store, session_id: str) -> list[Obj]:
        """A session's line items (Stripe's `line_items`, sent only when expanded)."""
        with self._lock:
            self._require("checkout_sessions", session_id)
            return copy.deepcopy(self._line_items[session_id])


def _put_intent(store: _Store, pi: Obj) -> None:
    """Record a new intent, or update a retried one in place (it keeps its list position)."""
    if pi["id"] in store._objects["payment_intents"]:
        store._objects["payment_intents"][pi["id"]].update(pi)
    else:
        store._put("payment_intents", pi)
