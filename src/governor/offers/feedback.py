"""Customers' feedback on fulfilled orders: signed expiring links, one answer per order, findings.

A feedback link is `<public_url>/f/<token>`; the token is the order id and the link's end,
signed with Governor's secret key (HMAC-SHA256, itsdangerous), so no sign-in is needed and
nothing else is stored for it. An order has at most one feedback: a newer answer (by its
`created_at`) replaces the older one, an older one is kept out, the same one changes nothing.
A rating at or below `feedback_low_rating`, or a text naming a problem (offers/complaints.py),
becomes a finding of kind "feedback" on the series `feedback.<order id>`.
"""

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

import sqlalchemy as sa
from itsdangerous import BadData, URLSafeSerializer
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator
from sqlalchemy.orm import Session

from governor.auth.secret import signing_key
from governor.config import Settings
from governor.errors import BadInput, LinkExpired, LinkInvalid, NotFound
from governor.ids import new_id
from governor.models import Feedback, Finding, Offer, Order
from governor.models.types import utcnow
from governor.offers.complaints import problems

SALT = "governor.feedback-link"
MAX_TEXT = 2000  # characters of one feedback text
MAX_IMPORT = 500  # items of one API import
QUOTE = 200  # characters of the text a finding quotes
FINDING_KIND = "feedback"
CLOCK_SKEW = timedelta(minutes=5)  # how far in the future an imported created_at may be
Outcome = Literal["created", "replaced", "unchanged", "kept"]


class FeedbackIn(BaseModel):
    """One answer to import: the order, its rating 1 to 5, a text, and when it was given."""

    model_config = ConfigDict(extra="forbid")

    order_id: str = Field(min_length=1, max_length=40)
    rating: int = Field(ge=1, le=5)
    text: str | None = Field(None, max_length=MAX_TEXT)
    created_at: AwareDatetime | None = Field(None, description="When it was given (default: now)")

    @field_validator("order_id", "text")
    @classmethod
    def _storable(cls, value: str | None) -> str | None:
        problem = unstorable(value)
        if problem is not None:
            raise ValueError(problem)
        return value


class FeedbackImport(BaseModel):
    """A batch of answers (POST /api/feedback)."""

    model_config = ConfigDict(extra="forbid")

    items: list[FeedbackIn] = Field(min_length=1, max_length=MAX_IMPORT)


class FeedbackOut(BaseModel):
    """One stored feedback, as the API lists it."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    order_id: str
    offer_id: str
    idea_id: str | None
    rating: int
    text: str | None
    source: str
    created_at: datetime


class ImportedOut(BaseModel):
    """What an import did with one item: created, replaced, unchanged, or kept (older)."""

    order_id: str
    feedback_id: str
    outcome: Outcome
    finding_id: str | None


@dataclass(frozen=True)
class Recorded:
    """The stored feedback, what happened to it, and its finding when it names a problem."""

    feedback: Feedback
    outcome: Outcome
    finding: Finding | None


def unstorable(value: str | None) -> str | None:
    """Why a text cannot be stored (a NUL character, a lone surrogate), or None."""
    if value is None:
        return None
    if "\x00" in value:
        return "it holds a NUL character, which the database cannot store"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "it holds a lone surrogate, which is not text"
    return None


# Links ---------------------------------------------------------------------------------------


def _serializer(key: str) -> URLSafeSerializer:
    return URLSafeSerializer(key, salt=SALT, signer_kwargs={"digest_method": hashlib.sha256})


def make_token(key: str, order_id: str, *, expires_at: datetime) -> str:
    """The signed token of a feedback link for this order, valid until `expires_at`."""
    return str(_serializer(key).dumps({"o": order_id, "x": int(expires_at.timestamp())}))


def read_token(key: str, token: str, *, now: datetime | None = None) -> str:
    """The order id a feedback token was signed for; LinkInvalid or LinkExpired otherwise."""
    try:
        data = _serializer(key).loads(token)
    except BadData:
        data = None
    if not (isinstance(data, dict) and isinstance(data.get("o"), str)
            and isinstance(data.get("x"), int)):  # fmt: skip
        raise LinkInvalid(
            "This feedback link is not valid: it was changed or cut short.",
            hint="Open the link exactly as it was sent to you, or ask the seller for a new one.",
        )
    if (now or utcnow()).timestamp() >= data["x"]:
        ended = datetime.fromtimestamp(data["x"], UTC).strftime("%Y-%m-%d")
        raise LinkExpired(
            f"This feedback link expired on {ended}.",
            hint="Ask the seller for a new link if you still want to tell them how it went.",
        )
    return str(data["o"])


def feedback_link(
    session: Session, settings: Settings, order_id: str, *, now: datetime | None = None
) -> str:
    """The feedback link of a fulfilled order, valid for `feedback_link_days` from now."""
    _fulfilled_order(session, order_id)
    expires = (now or utcnow()) + timedelta(days=settings.feedback_link_days)
    token = make_token(signing_key(settings), order_id, expires_at=expires)
    return f"{settings.public_base()}/f/{token}"


def offer_title(session: Session, order_id: str) -> str:
    """The title of the order's offer: all a feedback page shows of it."""
    order = _fulfilled_order(session, order_id)
    return session.get_one(Offer, order.offer_id).title


def has_feedback(session: Session, order_id: str) -> bool:
    """Whether the order's customer already answered (a new answer replaces it)."""
    return _current(session, order_id) is not None


# Storing -------------------------------------------------------------------------------------


def _fulfilled_order(session: Session, order_id: str, *, lock: bool = False) -> Order:
    order = session.get(Order, order_id, with_for_update=lock)
    if order is None:
        raise NotFound(f"No order {order_id}.", hint="`governor orders list` shows the orders.")
    if order.fulfilled_at is None:
        raise BadInput(
            f"Order {order_id} is {order.status} and not fulfilled yet; only fulfilled orders "
            "get feedback.",
            hint="Wait until it is fulfilled (`governor orders show ID` shows when).",
        )
    return order


def _current(session: Session, order_id: str) -> Feedback | None:
    return session.scalar(sa.select(Feedback).where(Feedback.order_id == order_id))


def record(
    session: Session,
    settings: Settings,
    *,
    order_id: str,
    rating: int,
    text: str | None,
    source: Literal["link", "api"],
    created_at: datetime | None = None,
) -> Recorded:
    """Store an order's feedback (newest wins, see the module) and its finding, if any."""
    if not 1 <= rating <= 5:
        raise BadInput(f"A rating is 1 to 5, not {rating}.", hint="Pick one of 1, 2, 3, 4, 5.")
    text = (text or "").strip() or None
    if (problem := unstorable(text)) is not None:
        raise BadInput(f"The text cannot be kept: {problem}.", hint="Remove that character.")
    if text is not None and len(text) > MAX_TEXT:
        raise BadInput(f"The text is {len(text)} characters long; at most {MAX_TEXT} are kept.",
                       hint="Shorten it.")  # fmt: skip
    at = created_at or utcnow()
    if at > utcnow() + CLOCK_SKEW:
        raise BadInput(f"created_at {at.isoformat()} is in the future.",
                       hint="Give when the customer answered, in UTC.")  # fmt: skip
    order = _fulfilled_order(session, order_id, lock=True)  # one writer per order at a time
    offer = session.get_one(Offer, order.offer_id)
    row = _current(session, order_id)
    outcome: Outcome
    if row is None:
        row = Feedback(id=new_id("fb"), order_id=order_id, offer_id=offer.id,
                       idea_id=offer.idea_id, rating=rating, text=text, source=source,
                       created_at=at)  # fmt: skip
        session.add(row)
        outcome = "created"
    elif (row.rating, row.text) == (rating, text):
        outcome = "unchanged"
    elif at < row.created_at:
        outcome = "kept"
    else:
        row.rating, row.text, row.source, row.created_at = rating, text, source, at
        outcome = "replaced"
    session.flush()
    return Recorded(row, outcome, _flag(session, settings, row, offer))


def import_feedback(
    session: Session, settings: Settings, batch: FeedbackImport
) -> list[ImportedOut]:
    """Store every item, or none: each order must exist and be fulfilled."""
    wrong = []
    for index, item in enumerate(batch.items):
        try:
            _fulfilled_order(session, item.order_id)
        except (NotFound, BadInput) as error:
            wrong.append(f"items[{index}]: {error.message}")
    if wrong:
        more = f" (and {len(wrong) - 5} more)" if len(wrong) > 5 else ""
        raise BadInput("Nothing was imported: " + " ".join(wrong[:5]) + more,
                       hint="Import feedback only for fulfilled orders.")  # fmt: skip
    results = []
    for item in batch.items:
        done = record(session, settings, order_id=item.order_id, rating=item.rating,
                      text=item.text, source="api", created_at=item.created_at)  # fmt: skip
        finding = done.finding.id if done.finding else None
        results.append(ImportedOut(order_id=item.order_id, feedback_id=done.feedback.id,
                                   outcome=done.outcome, finding_id=finding))  # fmt: skip
    return results


def list_feedback(
    session: Session,
    *,
    offer_id: str | None = None,
    rating: int | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[Feedback]:
    """Feedback, newest first, of one offer and with one rating if given."""
    query = sa.select(Feedback).order_by(Feedback.created_at.desc(), Feedback.id.desc())
    if offer_id is not None:
        query = query.where(Feedback.offer_id == offer_id)
    if rating is not None:
        query = query.where(Feedback.rating == rating)
    return list(session.scalars(query.limit(limit).offset(offset)))


# Findings ------------------------------------------------------------------------------------


def _flag(session: Session, settings: Settings, row: Feedback, offer: Offer) -> Finding | None:
    """Keep the order's finding in step with its feedback: there while it names a problem."""
    series = f"feedback.{row.order_id}"
    finding = session.scalar(
        sa.select(Finding).where(Finding.series == series, Finding.kind == FINDING_KIND)
    )
    low = row.rating <= settings.feedback_low_rating
    named = problems(row.text)
    if not (low or named):
        if finding is not None:
            session.delete(finding)
            session.flush()
        return None
    if finding is None:
        finding = Finding(id=new_id("finding"), series=series, kind=FINDING_KIND)
        session.add(finding)
    finding.at, finding.value, finding.score = row.created_at, float(row.rating), 1.0
    finding.expected_low, finding.expected_high = settings.feedback_low_rating + 1.0, 5.0
    finding.explanation = explain(row, offer, named, low=low)
    finding.link = f"/orders/{row.order_id}"
    session.flush()
    return finding


def explain(row: Feedback, offer: Offer, named: list[str], *, low: bool) -> str:
    """One sentence naming the order, the offer, the rating and the text (quoted, cut short)."""
    why = " and ".join(
        ["a low rating"] * low + [f"a text naming a problem ({', '.join(named)})"] * bool(named)
    )
    said = ""
    if row.text:
        quote = row.text if len(row.text) <= QUOTE else row.text[: QUOTE - 1].rstrip() + "…"
        said = f": “{' '.join(quote.split())}”"
    return (f"Order {row.order_id} of offer “{offer.title}” ({offer.id}) was rated "
            f"{row.rating}/5, {why}{said}")  # fmt: skip
