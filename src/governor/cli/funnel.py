"""`governor funnel`: every offer's checkout funnel and friction figures over the cohorts that
have had their full window, as a table or JSON."""

import typer

from governor.cli.guarded import guarded_engine
from governor.cli.output import print_json, print_table


def funnel(
    offer: str | None = typer.Option(None, "--offer", help="Only this offer."),
    days: int = typer.Option(30, "--days", min=1, help="Days of entries counted."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON only."),
) -> None:
    """Views → checkout started → paid → fulfilled → rated per offer, with abandonment, time to
    pay and to fulfil, fulfilment failures, refunds, ratings and the money friction costs."""
    from dataclasses import asdict
    from datetime import timedelta

    from rich.table import Table

    from governor.config import get_settings
    from governor.errors import NotFound
    from governor.models.types import utcnow
    from governor.offers.friction import Cohort
    from governor.offers.friction import funnel as measure
    from governor.storage.db import session_scope
    from governor.web.pages.tables import money, percent

    settings, now = get_settings(), utcnow()
    cohort = Cohort.of(now - timedelta(days=days), now, now, settings.funnel_window_days)
    with session_scope(guarded_engine(), readonly=True) as session:
        result = measure(session, cohort, now, peak_offers=settings.funnel_peak_offers,
                         offer_id=offer)  # fmt: skip
    if offer is not None and result.offer(offer) is None:
        raise NotFound(f"No offer '{offer}'.", hint="governor offers list")
    if as_json:
        print_json({"cohort": cohort.to_dict(), "offers": [asdict(o) for o in result.offers],
                    "providers": [p.to_dict() for p in result.providers],
                    "peak_days": result.peak_days})  # fmt: skip
        return
    table = Table("offer", "viewed", "started", "paid", "fulfilled", "rated", "abandoned",
                  "at payment", "pay p50 s", "rating", "lost",
                  title=f"Funnel: entries {cohort.start:%Y-%m-%d} → "
                        f"{cohort.end:%Y-%m-%d}")  # fmt: skip
    for o in result.offers:
        table.add_row(o.offer_id, *(str(s.count) for s in o.steps), percent(o.abandonment_rate),
                      percent(o.payment_abandonment_rate), str(o.time_to_pay_s.get("p50", "—")),
                      "—" if o.mean_rating is None else f"{o.mean_rating:.2f}",
                      money(o.abandoned_minor, o.currency))  # fmt: skip
    print_table(table)
