"""Funnel steps Stripe does not report (an offer viewed, a checkout started), recorded by Governor:
`governor.track(...)` from agents' code, `POST /api/track` over HTTP."""

import re
from dataclasses import dataclass
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from governor.errors import BadInput
from governor.ids import new_id
from governor.models import FunnelEvent, Offer
from governor.models.base import table_of
from governor.models.types import utcnow
from governor.storage.db import session_scope
from governor.storage.upsert import upsert

STEPS = ("offer_viewed", "checkout_started")
"""The steps before Stripe's: every later one (paid, abandoned, recovered) comes from Stripe."""

_OFFER_ID = re.compile(r"[A-Za-z0-9_]{1,40}")
_SESSION_ID = re.compile(r"cs_[A-Za-z0-9_]{1,252}")


@dataclass(frozen=True)
class Tracked:
    """The event a track call names: new, or the one an earlier call with its dedupe_key made."""

    id: str
    recorded: bool


class TrackIn(BaseModel):
    """A funnel step as `POST /api/track` takes it."""

    model_config = ConfigDict(extra="forbid")

    offer_id: str = Field(description="The offer (offer_…) the step belongs to.")
    step: str = Field(description="offer_viewed or checkout_started.")
    session_id: str | None = Field(None, description="The Checkout Session's cs_… id.")
    visitor: str | None = Field(None, description="An anonymous visitor id, never an e-mail.")
    at: datetime | None = Field(None, description="When, with its zone (default: now).")
    dedupe_key: str | None = Field(None, description="A repeated key records nothing more.")


class TrackOut(BaseModel):
    """The event's id, and whether this call recorded it (false: a repeated dedupe_key)."""

    id: str
    recorded: bool


def record_step(
    session: Session,
    offer_id: str,
    step: str,
    *,
    session_id: str | None = None,
    visitor: str | None = None,
    at: datetime | None = None,
    dedupe_key: str | None = None,
) -> Tracked:
    """Record one step of an offer's funnel; a repeated `dedupe_key` is the same event."""
    _check(session, offer_id, step, session_id, visitor, at, dedupe_key)
    row = {
        "id": new_id("fev"),
        "offer_id": offer_id,
        "step": step,
        "at": at or utcnow(),
        "checkout_session_id": session_id,
        "visitor": visitor,
        "dedupe_key": dedupe_key,
    }
    if dedupe_key is None:
        upsert(session, table_of(FunnelEvent), [row], key=("id",), ignore=True)
        return Tracked(str(row["id"]), True)
    upsert(session, table_of(FunnelEvent), [row], key=("dedupe_key",), ignore=True)
    found = session.scalar(select(FunnelEvent.id).where(FunnelEvent.dedupe_key == dedupe_key))
    return Tracked(str(found), found == row["id"])


def track(
    offer_id: str,
    step: str,
    *,
    session_id: str | None = None,
    visitor: str | None = None,
    at: datetime | None = None,
    dedupe_key: str | None = None,
) -> str:
    """Record a funnel step in the configured database, in its own unit of work; its id.

    E.g. `governor.track(offer_id, "checkout_started", session_id=cs.id)` right after creating
    a Checkout Session (Stripe sends no event when one starts).
    """
    with session_scope() as session:
        return record_step(session, offer_id, step, session_id=session_id, visitor=visitor,
                           at=at, dedupe_key=dedupe_key).id  # fmt: skip


def _check(
    session: Session,
    offer_id: str,
    step: str,
    session_id: str | None,
    visitor: str | None,
    at: datetime | None,
    dedupe_key: str | None,
) -> None:
    if step not in STEPS:
        raise BadInput(
            f"'{_shown(step)}' is not a funnel step Governor records.",
            hint=f"Use one of {', '.join(STEPS)}; Stripe reports the later steps.",
        )
    if not _OFFER_ID.fullmatch(offer_id) or session.get(Offer, offer_id) is None:
        raise BadInput(
            f"No offer '{_shown(offer_id)}' to track.",
            hint="Give the id of an existing offer (governor offers list).",
        )
    if session_id is not None and not _SESSION_ID.fullmatch(session_id):
        raise BadInput(
            f"'{_shown(session_id)}' is not a Stripe Checkout Session id.",
            hint="Give the cs_… id Stripe returned, or leave session_id out.",
        )
    if visitor is not None and (not _text(visitor, 64) or "@" in visitor):
        raise BadInput(
            "visitor must be an anonymous id of 1 to 64 printable characters.",
            hint="Never an e-mail address: use e.g. a random id from a cookie.",
        )
    if dedupe_key is not None and not _text(dedupe_key, 200):
        raise BadInput("dedupe_key must be 1 to 200 printable characters.")
    if at is not None and (at.tzinfo is None or at.utcoffset() is None):
        raise BadInput("at must carry its time zone.", hint="e.g. 2026-12-04T10:00:00Z")


def _text(value: str, longest: int) -> bool:
    """Printable, storable text of 1 to `longest` characters."""
    if not 0 < len(value) <= longest or not value.isprintable():
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate
        return False
    return True


def _shown(value: str) -> str:
    """A value cut short and made printable for an error message."""
    return value[:60].encode("ascii", "backslashreplace").decode()
