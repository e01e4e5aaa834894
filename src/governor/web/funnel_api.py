"""The funnel as JSON: /api/funnel (every offer and provider), /api/funnel/{offer}, and the
rows behind one step of an offer's funnel."""

from dataclasses import asdict
from typing import Any

from fastapi import APIRouter

from governor.errors import NotFound
from governor.offers.friction import Funnel
from governor.offers.funnel_rows import step_rows
from governor.web.api import Asked, Limit, Offset, Reader
from governor.web.pages.funnel import funnel_of

router = APIRouter(prefix="/api/funnel", tags=["funnel"])


def _body(result: Funnel) -> dict[str, Any]:
    return {
        "cohort": result.cohort.to_dict(),
        "computed_at": result.computed_at.isoformat(),
        "offers": [asdict(o) for o in result.offers],
        "providers": [p.to_dict() for p in result.providers],
        "peak_days": result.peak_days,
    }


@router.get("")
def funnel(session: Reader, asked: Asked) -> dict[str, Any]:
    """Every offer's funnel and friction figures over the period's matured cohort (moved back
    by funnel_window_days), and each fulfilment provider's failures and 429s."""
    return _body(funnel_of(session, asked))


@router.get("/{offer_id}")
def offer_funnel(session: Reader, asked: Asked, offer_id: str) -> dict[str, Any]:
    """One offer's funnel and friction figures."""
    result = funnel_of(session, asked, offer_id)
    if result.offer(offer_id) is None:
        raise NotFound(f"No offer '{offer_id}'.", hint="GET /api/funnel lists every offer.")
    return _body(result)


@router.get("/{offer_id}/steps/{step}")
def offer_step(
    session: Reader, asked: Asked, offer_id: str, step: str, limit: Limit = 50, offset: Offset = 0
) -> dict[str, Any]:
    """The views, sessions or orders behind one step (viewed, started, abandoned,
    abandoned_at_payment, paid, fulfilled, rated), newest first, with their Stripe ids."""
    result = funnel_of(session, asked, offer_id)
    if result.offer(offer_id) is None:
        raise NotFound(f"No offer '{offer_id}'.", hint="GET /api/funnel lists every offer.")
    rows = step_rows(session, offer_id, step, result.cohort, limit=limit + 1, offset=offset)
    return {"cohort": result.cohort.to_dict(), "step": step, "offset": offset, "limit": limit,
            "more": len(rows) > limit, "rows": [asdict(r) for r in rows[:limit]]}  # fmt: skip
