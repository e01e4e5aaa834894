"""Builders for Checkout Sessions and their line items, field for field as Stripe returns them."""

from typing import Any

Obj = dict[str, Any]

DAY = 86_400
RECOVERY_DAYS = 30


def line_item(
    id: str, *, price: str, amount: int, currency: str, quantity: int, name: str, product: str
) -> Obj:
    """One line of a session (the `line_items` list, only sent when expanded)."""
    return {
        "id": id,
        "object": "item",
        "amount_discount": 0,
        "amount_subtotal": amount * quantity,
        "amount_tax": 0,
        "amount_total": amount * quantity,
        "currency": currency,
        "description": name,
        "price": {
            "id": price,
            "object": "price",
            "active": True,
            "currency": currency,
            "product": product,
            "type": "one_time",
            "unit_amount": amount,
        },
        "quantity": quantity,
    }


def session(
    id: str,
    *,
    items: list[Obj],
    currency: str,
    created: int,
    expires_at: int,
    metadata: dict[str, str],
    customer: str | None = None,
    customer_email: str | None = None,
    client_reference_id: str | None = None,
    payment_link: str | None = None,
    recovered_from: str | None = None,
    recovery: bool = False,
    success_url: str | None = None,
    cancel_url: str | None = None,
) -> Obj:
    """An open payment-mode session: nothing paid, no payment intent until the buyer pays."""
    total = sum(item["amount_total"] for item in items)
    return {
        "id": id,
        "object": "checkout.session",
        "after_expiration": {"recovery": {"allow_promotion_codes": False, "enabled": True,
                                          "expires_at": None, "url": None}}
        if recovery else None,
        "allow_promotion_codes": None,
        "amount_subtotal": total,
        "amount_total": total,
        "billing_address_collection": None,
        "cancel_url": cancel_url,
        "client_reference_id": client_reference_id,
        "created": created,
        "currency": currency,
        "customer": customer,
        "customer_creation": None if customer else "if_required",
        "customer_details": None,
        "customer_email": customer_email,
        "expires_at": expires_at,
        "invoice": None,
        "livemode": False,
        "locale": None,
        "metadata": metadata,
        "mode": "payment",
        "payment_intent": None,
        "payment_link": payment_link,
        "payment_method_types": ["card"],
        "payment_status": "unpaid",
        "recovered_from": recovered_from,
        "status": "open",
        "submit_type": None,
        "success_url": success_url,
        "total_details": {"amount_discount": 0, "amount_shipping": 0, "amount_tax": 0},
        "url": f"https://checkout.stripe.com/c/pay/{id}",
    }  # fmt: skip


def customer_details(email: str | None, name: str | None) -> Obj:
    """What the buyer typed in at checkout."""
    return {"address": None, "email": email, "name": name, "phone": None, "tax_exempt": "none",
            "tax_ids": []}  # fmt: skip


def recovery_url(session_id: str, when: int) -> Obj:
    """The `after_expiration.recovery` of an expired session whose recovery was enabled."""
    return {"allow_promotion_codes": False, "enabled": True,
            "expires_at": when + RECOVERY_DAYS * DAY,
            "url": f"https://buy.stripe.com/r/live_{session_id[-12:]}"}  # fmt: skip
