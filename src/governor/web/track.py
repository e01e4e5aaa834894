"""`POST /api/track`: funnel steps Stripe does not report, sent by a shop's page or server."""

from fastapi import APIRouter

from governor.revenue import funnel
from governor.storage.db import session_scope

router = APIRouter(prefix="/api", tags=["api"])


@router.post("/track", response_model=funnel.TrackOut)
def track(step: funnel.TrackIn) -> funnel.TrackOut:
    """Record `offer_viewed` or `checkout_started` (with the Checkout Session's cs_… id).

    A repeated `dedupe_key` is one event: the answer is 200 either way, with `recorded` false
    the second time. Committed before the answer.
    """
    with session_scope() as session:
        done = funnel.record_step(session, step.offer_id, step.step, session_id=step.session_id,
                                  visitor=step.visitor, at=step.at,
                                  dedupe_key=step.dedupe_key)  # fmt: skip
        return funnel.TrackOut(id=done.id, recorded=done.recorded)
