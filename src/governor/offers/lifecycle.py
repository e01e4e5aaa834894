"""An offer's life, draft → live ⇄ paused → retired: the allowed moves, their history, its sales."""

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from governor.errors import BadInput, NotFound
from governor.ids import new_id
from governor.models import Offer, OfferStatusChange
from governor.models.types import utcnow
from governor.offers.schemas import OfferStatusChangeOut
from governor.tracing.context import current_task_id

MOVES: dict[str, tuple[str, ...]] = {
    "draft": ("live", "retired"),
    "live": ("paused", "retired"),
    "paused": ("live", "retired"),
    "retired": (),
}
"""Where each status may go; retired is final."""
STRIPE_PREFIXES = {"product": "prod_", "price": "price_", "payment_link": "plink_"}
"""What each Stripe reference an offer keeps must start with."""
MAX_REASON = 2000


def actor_now(actor: str | None = None) -> tuple[str, str | None]:
    """Who is acting and in which task: the given actor, else `task:<id>` inside a running
    task, else `system`; the task id whenever one runs."""
    task_id = current_task_id.get()
    if actor is not None:
        return actor, task_id
    return (f"task:{task_id}" if task_id else "system"), task_id


def record_created(session: Session, offer: Offer, *, actor: str | None = None) -> None:
    """Write an offer's first history row (None → its status), and the task that made it."""
    who, task_id = actor_now(actor)
    offer.created_by_task_id = offer.created_by_task_id or task_id
    _record(session, offer, None, who, task_id, reason="created", at=offer.created_at)


def set_status(
    session: Session,
    offer_id: str,
    status: str,
    *,
    reason: str,
    actor: str | None = None,
    at: datetime | None = None,
) -> OfferStatusChangeOut:
    """Move an offer to `status` if its current status allows it, and record why and by whom."""
    if status not in MOVES:
        raise BadInput(f"Unknown offer status '{status}'.", hint=f"Use one of: {', '.join(MOVES)}.")
    why = " ".join((reason or "").split())
    if not why or not why.isprintable():
        raise BadInput(
            "A status change needs a reason, in printable text.",
            hint="Say why, e.g. --reason 'sold out'.",
        )
    if len(why) > MAX_REASON:
        raise BadInput(f"A reason may have at most {MAX_REASON} characters, not {len(why)}.")
    offer = _offer(session, offer_id, lock=True)
    allowed = MOVES[offer.status]
    if status not in allowed:
        moves = ", ".join(allowed) if allowed else "none: retired is final"
        raise BadInput(
            f"Offer {offer_id} is {offer.status}; it cannot become {status}.",
            hint=f"From {offer.status} it can become: {moves}.",
        )
    when = at or utcnow()
    if when.utcoffset() is None:
        raise BadInput(f"{when.isoformat()} has no time zone; give times in UTC.")
    last = session.scalar(
        select(func.max(OfferStatusChange.at)).where(OfferStatusChange.offer_id == offer_id)
    )
    if last is not None and when < last:
        raise BadInput(
            f"{when.isoformat()} is before its last change ({last.isoformat()}).",
            hint="A status change happens after the ones before it; leave the time out for now.",
        )
    who, task_id = actor_now(actor)
    before, offer.status = offer.status, status
    return _record(session, offer, before, who, task_id, reason=why, at=when)


def history(session: Session, offer_id: str) -> list[OfferStatusChangeOut]:
    """Every status change of an offer, oldest first; NotFound if there is no such offer."""
    _offer(session, offer_id)
    rows = session.scalars(
        select(OfferStatusChange)
        .where(OfferStatusChange.offer_id == offer_id)
        .order_by(OfferStatusChange.at, OfferStatusChange.id)
    )
    return [OfferStatusChangeOut.model_validate(row) for row in rows]


def set_stripe_refs(
    session: Session,
    offer_id: str,
    *,
    product: str | None = None,
    price: str | None = None,
    payment_link: str | None = None,
) -> Offer:
    """Record the ids of what sells the offer in Stripe (made there, never by Governor)."""
    offer = _offer(session, offer_id, lock=True)
    given = {"product": product, "price": price, "payment_link": payment_link}
    if all(value is None for value in given.values()):
        raise BadInput("No Stripe id given.", hint="Give a product, a price or a payment link.")
    for name, value in given.items():
        if value is None:
            continue
        prefix = STRIPE_PREFIXES[name]
        if not value.startswith(prefix) or len(value) > 255 or not value.isprintable():
            raise BadInput(
                f"'{value}' is not a Stripe {name.replace('_', ' ')} id.",
                hint=f"Copy it from the Stripe dashboard; it starts with {prefix}.",
            )
        setattr(offer, f"stripe_{name}_id", value)
    session.flush()
    return offer


def check_takes_orders(offer: Offer) -> None:
    """Refuse a new order of a retired offer."""
    if offer.status == "retired":
        raise BadInput(
            f"Offer {offer.id} is retired; it takes no new orders.",
            hint="Sell another offer (`governor offers list --status live`).",
        )


def _record(
    session: Session,
    offer: Offer,
    before: str | None,
    actor: str,
    task_id: str | None,
    *,
    reason: str,
    at: datetime,
) -> OfferStatusChangeOut:
    row = OfferStatusChange(
        id=new_id("osc"), offer_id=offer.id, from_status=before, to_status=offer.status,
        at=at, actor=actor[:200], task_id=task_id, reason=reason,
    )  # fmt: skip
    session.add(row)
    session.flush()
    return OfferStatusChangeOut.model_validate(row)


def _offer(session: Session, offer_id: str, *, lock: bool = False) -> Offer:
    found = session.get(Offer, offer_id, with_for_update=True if lock else None)
    if found is None:
        raise NotFound(f"No offer {offer_id}.", hint="`governor offers list` shows the ids.")
    return found
