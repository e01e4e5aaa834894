"""Builders for Stripe API objects (plain dicts, field for field as the API returns them)."""

import random
import string
from typing import Any

Obj = dict[str, Any]

API_VERSION = "2024-06-20"
_ALPHABET = string.ascii_letters + string.digits


def new_id(prefix: str, rng: random.Random) -> str:
    """A Stripe-looking id: prefix, underscore, 24 alphanumerics."""
    return prefix + "_" + "".join(rng.choice(_ALPHABET) for _ in range(24))


def charge(
    id: str,
    *,
    amount: int,
    currency: str,
    created: int,
    payment_intent: str,
    succeeded: bool,
    customer: str | None,
    description: str | None,
    metadata: dict[str, str],
    failure_code: str | None,
    failure_message: str | None,
) -> Obj:
    """A card charge, succeeded (captured, paid) or failed."""
    return {
        "id": id,
        "object": "charge",
        "amount": amount,
        "amount_captured": amount if succeeded else 0,
        "amount_refunded": 0,
        "balance_transaction": None,
        "captured": succeeded,
        "created": created,
        "currency": currency,
        "customer": customer,
        "description": description,
        "disputed": False,
        "failure_code": failure_code,
        "failure_message": failure_message,
        "livemode": False,
        "metadata": metadata,
        "paid": succeeded,
        "payment_intent": payment_intent,
        "refunded": False,
        "status": "succeeded" if succeeded else "failed",
    }


def payment_intent(id: str, charge: Obj) -> Obj:
    """The payment intent behind a charge (only what its events need)."""
    succeeded = charge["status"] == "succeeded"
    error = None
    if not succeeded:
        error = {
            "charge": charge["id"],
            "code": charge["failure_code"],
            "message": charge["failure_message"],
            "type": "card_error",
        }
    return {
        "id": id,
        "object": "payment_intent",
        "amount": charge["amount"],
        "amount_received": charge["amount"] if succeeded else 0,
        "created": charge["created"],
        "currency": charge["currency"],
        "customer": charge["customer"],
        "last_payment_error": error,
        "latest_charge": charge["id"],
        "livemode": False,
        "metadata": dict(charge["metadata"]),
        "status": "succeeded" if succeeded else "requires_payment_method",
    }


def refund(id: str, *, charge: Obj, amount: int, created: int, metadata: dict[str, str]) -> Obj:
    """A succeeded refund of (part of) a charge."""
    return {
        "id": id,
        "object": "refund",
        "amount": amount,
        "balance_transaction": None,
        "charge": charge["id"],
        "created": created,
        "currency": charge["currency"],
        "metadata": metadata,
        "payment_intent": charge["payment_intent"],
        "reason": None,
        "status": "succeeded",
    }


def dispute(id: str, *, charge: Obj, amount: int, reason: str, created: int) -> Obj:
    """A dispute awaiting a response; `balance_transactions` holds full objects."""
    return {
        "id": id,
        "object": "dispute",
        "amount": amount,
        "balance_transactions": [],
        "charge": charge["id"],
        "created": created,
        "currency": charge["currency"],
        "is_charge_refundable": False,
        "livemode": False,
        "metadata": {},
        "payment_intent": charge["payment_intent"],
        "reason": reason,
        "status": "needs_response",
    }


def payout(id: str, *, amount: int, currency: str, created: int, arrival_date: int) -> Obj:
    """An automatic payout to the default bank account, pending until paid."""
    return {
        "id": id,
        "object": "payout",
        "amount": amount,
        "arrival_date": arrival_date,
        "automatic": True,
        "balance_transaction": None,
        "created": created,
        "currency": currency,
        "description": "STRIPE PAYOUT",
        "destination": None,
        "failure_balance_transaction": None,
        "failure_code": None,
        "failure_message": None,
        "livemode": False,
        "metadata": {},
        "method": "standard",
        "reconciliation_status": "in_progress",
        "source_type": "card",
        "statement_descriptor": None,
        "status": "pending",
        "type": "bank_account",
    }


def balance_transaction(
    id: str,
    *,
    amount: int,
    fee: int,
    currency: str,
    type: str,
    reporting_category: str,
    source: str,
    created: int,
    available_on: int,
    description: str | None = None,
    fee_description: str = "Stripe processing fees",
) -> Obj:
    """A movement of the Stripe balance; `status` follows `available_on`."""
    details = []
    if fee:
        details.append(
            {
                "amount": fee,
                "application": None,
                "currency": currency,
                "description": fee_description,
                "type": "stripe_fee",
            }
        )
    return {
        "id": id,
        "object": "balance_transaction",
        "amount": amount,
        "available_on": available_on,
        "created": created,
        "currency": currency,
        "description": description,
        "exchange_rate": None,
        "fee": fee,
        "fee_details": details,
        "net": amount - fee,
        "reporting_category": reporting_category,
        "source": source,
        "status": "available" if available_on <= created else "pending",
        "type": type,
    }


def event(
    id: str,
    *,
    type: str,
    created: int,
    obj: Obj,
    previous_attributes: Obj | None = None,
    api_version: str = API_VERSION,
) -> Obj:
    """An event carrying a snapshot of the object as it was at `created`."""
    data: Obj = {"object": obj}
    if previous_attributes is not None:
        data["previous_attributes"] = previous_attributes
    return {
        "id": id,
        "object": "event",
        "api_version": api_version,
        "created": created,
        "data": data,
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": None},
        "type": type,
    }


def balance(available: dict[str, int], pending: dict[str, int]) -> Obj:
    """The account balance per currency."""
    currencies = sorted(set(available) | set(pending))
    return {
        "object": "balance",
        "available": [
            {
                "amount": available.get(c, 0),
                "currency": c,
                "source_types": {"card": available.get(c, 0)},
            }
            for c in currencies
        ],
        "livemode": False,
        "pending": [
            {
                "amount": pending.get(c, 0),
                "currency": c,
                "source_types": {"card": pending.get(c, 0)},
            }
            for c in currencies
        ],
    }
