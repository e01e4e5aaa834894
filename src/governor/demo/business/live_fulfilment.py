"""The live demo's fulfilment and feedback: two provider stand-ins (one slow, one that throttles)
its offers are fulfilled through, the agents' own task for the rest, and customers' ratings."""

import random
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from governor.config import Settings
from governor.demo.provider_server import ProviderBehaviour, ProviderServer
from governor.models import Feedback, Offer, Order
from governor.models.types import utcnow
from governor.offers import feedback

SLOW = ProviderBehaviour(latency_s=1.5, failure_rate=0.03, seed=1)
"""A file store that answers in 1.5 s and fails 3% of calls."""
THROTTLING = ProviderBehaviour(rate_per_second=2, failure_rate=0.05, seed=2)
"""An e-mail and licence API that answers 429 past 2 calls/s and fails 5% of calls."""
THROTTLING_HOST = "localhost"
"""The throttling provider is called by this name, so that its limit and circuit breaker are
its own (the slow one and the Stripe stand-in are at 127.0.0.1)."""
LIMIT = f"{THROTTLING_HOST}=3/s"
"""Governor's own limit for it: above the provider's, so some calls meet its 429s."""
SLA_MINUTES = 30
RATES = 0.4
"""The share of fulfilled orders whose customer rates them."""
COMPLAINTS = ("It arrived late.", "The file would not open.", "Not what the page promised.")


class DemoProviders:
    """The two providers, served on loopback while the live demo runs."""

    def __init__(self) -> None:
        self.slow = ProviderServer(SLOW)
        self.throttling = ProviderServer(THROTTLING)

    def start(self) -> "DemoProviders":
        self.slow.start()
        self.throttling.start()
        return self

    def stop(self) -> None:
        self.slow.stop()
        self.throttling.stop()

    def plans(self) -> list[tuple[str, dict[str, Any]]]:
        """Fulfilment types and configs, given to the live offers in turn."""
        slow = self.slow.url
        throttling = f"http://{THROTTLING_HOST}:{self.throttling.port}"
        return [
            ("agent_task", {"task_type": "fulfill_order"}),
            ("deliver_file", {"url": f"{slow}/v1/files/deliver", "file": "deliverable.pdf"}),
            (
                "issue_licence",
                {"url": f"{throttling}/v1/licences", "email_url": f"{throttling}/v1/emails"},
            ),
            ("call_api", {"url": f"{throttling}/v1/emails", "api": "email"}),
        ]


def assign_fulfilment(session: Session, providers: DemoProviders) -> None:
    """Give the demo's offers, in turn, a fulfilment through this run's providers (or the
    agents' own task) and an SLA: an earlier run's providers are gone with their ports."""
    plans = providers.plans()
    for n, offer in enumerate(session.scalars(select(Offer).order_by(Offer.id))):
        offer.fulfilment_type, offer.fulfilment_config = plans[n % len(plans)]
        offer.fulfilment_sla_minutes = SLA_MINUTES


def collect_ratings(session: Session, settings: Settings, rng: random.Random) -> int:
    """Customers of orders fulfilled in the last hour rate some of them, as on the feedback
    page; the slower an order was, the lower its rating. Returns how many rated."""
    since = utcnow() - timedelta(hours=1)
    rows = session.execute(
        select(Order.id, Order.paid_at, Order.fulfilled_at)
        .outerjoin(Feedback, Feedback.order_id == Order.id)
        .where(Order.fulfilled_at >= since, Order.status == "fulfilled", Feedback.id.is_(None))
        .order_by(Order.fulfilled_at)
        .limit(5)
    ).all()
    rated = 0
    for order_id, paid_at, fulfilled_at in rows:
        if rng.random() >= RATES or paid_at is None or fulfilled_at is None:
            continue
        late = (fulfilled_at - paid_at) > timedelta(minutes=2)
        rating = rng.choice((2, 3, 4) if late else (4, 5, 5))
        text = rng.choice(COMPLAINTS) if rating <= 2 else None
        feedback.record(session, settings, order_id=order_id, rating=rating, text=text,
                        source="link")  # fmt: skip
        rated += 1
    return rated
