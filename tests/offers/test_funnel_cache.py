"""The funnel's figures are reused within funnel_cache_seconds, then refreshed behind the
stale ones, on SQLite and PostgreSQL."""

import threading
from datetime import timedelta

from sqlalchemy.engine import Engine

from governor.config import get_settings
from governor.models import CheckoutSession
from governor.models.types import utcnow
from governor.offers.funnel_cache import cached_funnel
from governor.storage.db import session_scope
from tests.factories import checkout_session, insert_rows
from tests.offers import funnel_data


def test_figures_are_reused_then_refreshed_behind_the_stale_ones(migrated: Engine) -> None:
    now = utcnow()
    ids = funnel_data.build(migrated, now=now)
    settings = get_settings()
    ticks = [0.0]

    def started() -> int:
        with session_scope(migrated, readonly=True) as session:
            made = cached_funnel(session, settings, key="30d", start=now - timedelta(days=30),
                                 end=now, now=now, clock=lambda: ticks[0])  # fmt: skip
        offer = made.offer(ids["offer"])
        assert offer is not None
        return offer.step("started").count

    assert started() == 9
    insert_rows(migrated, CheckoutSession,
                checkout_session(ids["offer"], "cs_more", now - timedelta(days=9)))  # fmt: skip
    ticks[0] = settings.funnel_cache_seconds - 1
    assert started() == 9  # within the window: the same figures
    ticks[0] = settings.funnel_cache_seconds + 1
    assert started() == 9  # past it: the stale figures, while a thread computes new ones
    for thread in threading.enumerate():
        if thread.name == "funnel-refresh":
            thread.join()
    assert started() == 10
