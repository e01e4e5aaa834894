"""The JSON twins of the fulfilment queue (rows and counts) and of the providers' health."""

from typing import Annotated

from fastapi import APIRouter, Query

from governor.analytics.filters import MAX_LIMIT, MAX_OFFSET
from governor.config import get_settings
from governor.offers import fulfilment_queue, provider_health
from governor.web.api import Reader

router = APIRouter(prefix="/api", tags=["api"])

State = Annotated[
    str | None, Query(pattern="^(" + "|".join(fulfilment_queue.QUEUE_STATES) + ")$",
                      description="waiting, failing, action_required or over_sla"),
]  # fmt: skip


@router.get("/fulfilment/queue", response_model=list[fulfilment_queue.QueueItem])
def queue(
    session: Reader,
    state: State = None,
    provider: Annotated[str | None, Query(max_length=64)] = None,
    offer_id: Annotated[str | None, Query(max_length=40)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> list[fulfilment_queue.QueueItem]:
    """Paid orders not yet fulfilled, one row per open step, oldest paid first."""
    return fulfilment_queue.queue(session, state=state, provider=provider, offer_id=offer_id,
                                  limit=limit, offset=offset)  # fmt: skip


@router.get("/fulfilment/counts", response_model=fulfilment_queue.QueueCounts)
def queue_counts(
    session: Reader,
    provider: Annotated[str | None, Query(max_length=64)] = None,
    offer_id: Annotated[str | None, Query(max_length=40)] = None,
) -> fulfilment_queue.QueueCounts:
    """How many queue rows are waiting, failing, action-required, and over their SLA."""
    return fulfilment_queue.counts(session, provider=provider, offer_id=offer_id)


@router.get("/fulfilment/providers", response_model=list[provider_health.ProviderHealth])
def providers(session: Reader) -> list[provider_health.ProviderHealth]:
    """Each provider over the last hour: calls, errors, 429s and its breaker's state."""
    return provider_health.health(session, get_settings())
