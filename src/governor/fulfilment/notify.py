"""The alert of a step that gave up: a person decides between a refund and another try."""

from sqlalchemy.orm import Session

from governor.alerts.service import raise_alert
from governor.models import Fulfilment, Order


def step_gave_up(session: Session, row: Fulfilment, order: Order) -> None:
    """Open (or count again) the alert offering the refund decision for this order's step."""
    money = f"{order.amount_minor} {order.currency.upper()} (minor units)"
    raise_alert(
        session, kind="fulfilment_failed", severity=4,
        fingerprint=f"fulfilment_failed:{row.order_id}:{row.step}",
        title=f"Order {row.order_id}: {row.step} failed {row.attempts} times at {row.provider}; "
              "refund or retry?",
        details={
            "order_id": row.order_id, "offer_id": order.offer_id, "step": row.step,
            "provider": row.provider, "attempts": row.attempts, "last_error": row.last_error,
            "charge_id": order.stripe_charge_id, "amount_minor": order.amount_minor,
            "currency": order.currency,
            "decision": "refund or retry (a person decides: Governor never moves money)",
            "refund": f"Refund {money} by charge {order.stripe_charge_id} in Stripe's dashboard; "
                      "the ledger follows from Stripe's events.",
            "retry": f"governor orders retry-fulfilment {row.order_id} {row.step}",
        },
    )  # fmt: skip
