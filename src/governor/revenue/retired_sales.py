"""Sales of retired offers: the money stays booked, and a person is told to close the link."""

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from governor.alerts.service import raise_alert
from governor.models import LedgerEntry, Offer, OfferStatusChange
from governor.revenue.currency import format_minor


def alert_retired_offer_sales(
    session: Session, events: Sequence[dict[str, Any]], *, charges: Iterable[str] = ()
) -> int:
    """Alert `offer_retired_sale` for each `charge.succeeded` among these events (and each of
    `charges`) whose charge (already in the ledger) paid an offer retired before it; the money
    stays booked. Returns how many such charges it found."""
    refs = sorted(
        set(charges)
        | {
            str(obj["id"])
            for obj in (
                (e.get("data") or {}).get("object") or {}
                for e in events
                if e.get("type") == "charge.succeeded"
            )
            if obj.get("id")
        }
    )
    if not refs:
        return 0
    retired_at = (
        select(OfferStatusChange.offer_id, func.max(OfferStatusChange.at).label("at"))
        .where(OfferStatusChange.to_status == "retired")
        .group_by(OfferStatusChange.offer_id)
        .subquery()
    )
    found = session.execute(
        select(LedgerEntry, Offer.title)
        .join(Offer, Offer.id == LedgerEntry.offer_id)
        .join(retired_at, retired_at.c.offer_id == Offer.id)
        .where(
            LedgerEntry.kind == "charge",
            LedgerEntry.status == "succeeded",
            LedgerEntry.source_ref.in_(refs),
            Offer.status == "retired",
            LedgerEntry.occurred_at >= retired_at.c.at,
        )
        .order_by(LedgerEntry.occurred_at)
    ).all()
    for entry, title in found:
        amount = f"{format_minor(entry.amount_minor, entry.currency)} {entry.currency.upper()}"
        raise_alert(
            session, kind="offer_retired_sale", severity=5,
            fingerprint=f"offer_retired_sale:{entry.offer_id}",
            title=f"Retired offer {entry.offer_id} ({title}) sold: {amount}, {entry.source_ref}",
            details={"offer_id": entry.offer_id, "charge": entry.source_ref,
                     "order_id": entry.order_id, "amount_minor": entry.amount_minor,
                     "currency": entry.currency,
                     "hint": "the money is booked; deactivate the offer's payment link in Stripe"},
        )  # fmt: skip
    return len(found)
