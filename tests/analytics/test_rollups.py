"""KPIs are exact whether a day comes from the rollup or from raw rows, on both databases."""

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from governor.analytics import rollups, service
from governor.analytics.filters import LedgerFilters, TaskFilters
from governor.analytics.period import parse_period
from governor.config import get_settings
from governor.models import RollupChange
from governor.storage.db import session_scope
from tests.factories import insert_entry, insert_task

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)


def overview(since: datetime, until: datetime):
    period = parse_period(since=since.isoformat(), until=until.isoformat(), grain="day", now=NOW)
    with session_scope(readonly=True) as session:
        return service.overview(session, period, get_settings())


def refresh() -> dict[str, int]:
    with session_scope() as session:
        return rollups.refresh(session)


def pending_changes() -> int:
    with session_scope(readonly=True) as session:
        return session.execute(sa.select(sa.func.count()).select_from(RollupChange)).scalar_one()


def a_month_of_business(engine) -> None:
    for day in range(30):
        when = NOW - (day + 1) * DAY + timedelta(hours=3)
        insert_entry(engine, occurred_at=when, amount_minor=4900)
        insert_entry(
            engine, occurred_at=when, kind="fee", amount_minor=-172, source_ref=f"txn_{day}"
        )
        insert_task(engine, finished_at=when, status="succeeded", cost_micros=25_000,
                    ai_model="gpt-4o", type="fulfill_order")  # fmt: skip
    insert_entry(
        engine, occurred_at=NOW - 2 * DAY, kind="refund", amount_minor=-4900, source_ref="re_1"
    )
    insert_entry(engine, occurred_at=NOW - 2 * DAY, status="failed", amount_minor=9900)
    insert_entry(engine, occurred_at=NOW - 3 * DAY, kind="payout", amount_minor=-50_000,
                 status="paid", source_ref="po_1")  # fmt: skip
    insert_entry(engine, occurred_at=NOW - 3 * DAY, kind="fulfilment_cost", amount_minor=-300,
                 source="governor", source_ref="cost_1")  # fmt: skip


def test_kpis_are_the_same_from_raw_rows_and_from_the_rollups(migrated):
    a_month_of_business(migrated)
    since, until = NOW - 30 * DAY, NOW
    raw = overview(since, until)
    assert pending_changes() > 0
    assert refresh() == {"ledger": 32, "tasks": 30}  # hours
    assert pending_changes() == 0
    rolled = overview(since, until)
    assert rolled == raw
    [usd] = rolled.money
    assert (usd.gross_revenue, usd.refunds, usd.stripe_fees) == (30 * 4900, -4900, -30 * 172)
    assert usd.net_revenue == 30 * 4900 - 4900 - 30 * 172  # the payout is no income
    assert (usd.cogs, usd.orders, usd.failed_charges) == (-300, 30, 1)
    assert (rolled.ai.cost_micros, rolled.ai.tasks) == (30 * 25_000, 30)
    [income] = rolled.income
    assert income.ai_cost == 75  # 750,000 micro-dollars are 75 cents
    assert income.net_income == usd.net_revenue - 300 - 75
    assert income.roi == round(income.net_income / 375, 4)


def test_a_change_to_a_rolled_up_day_shows_at_once(migrated):
    a_month_of_business(migrated)
    refresh()
    with migrated.begin() as conn:
        conn.execute(
            sa.text("UPDATE ledger_entries SET status = 'failed' WHERE source_ref = 're_1'")
        )
    [usd] = overview(NOW - 30 * DAY, NOW).money
    assert usd.refunds == 0
    insert_entry(migrated, occurred_at=NOW - 10 * DAY, amount_minor=1000)
    [usd] = overview(NOW - 30 * DAY, NOW).money
    assert usd.gross_revenue == 30 * 4900 + 1000
    assert refresh() == {"ledger": 2}
    assert overview(NOW - 30 * DAY, NOW).money == [usd]


def test_partial_days_at_the_edges_count_only_their_hours(migrated):
    morning = NOW.replace(hour=6)
    insert_entry(migrated, occurred_at=morning - DAY, amount_minor=100)  # before the period
    insert_entry(migrated, occurred_at=morning - DAY + timedelta(hours=4), amount_minor=200)
    insert_entry(migrated, occurred_at=morning - timedelta(hours=1), amount_minor=400)
    insert_entry(migrated, occurred_at=morning + timedelta(hours=1), amount_minor=800)  # after
    refresh()
    since, until = morning - DAY + timedelta(hours=2), morning
    [usd] = overview(since, until).money
    assert usd.gross_revenue == 600


def test_currencies_are_never_added_together_without_a_rate(migrated, configure):
    insert_entry(migrated, occurred_at=NOW - DAY, amount_minor=1000, currency="usd")
    insert_entry(migrated, occurred_at=NOW - DAY, amount_minor=2000, currency="eur")
    insert_entry(migrated, occurred_at=NOW - DAY, amount_minor=500, currency="jpy")
    result = overview(NOW - 7 * DAY, NOW)
    assert [(m.currency, m.gross_revenue) for m in result.money] == [
        ("eur", 2000), ("jpy", 500), ("usd", 1000)]  # fmt: skip
    assert result.reporting_total is None
    assert "eur, jpy" in (result.reporting_note or "")
    configure(fx_rates="eur=1.10,jpy=0.0065")
    total = overview(NOW - 7 * DAY, NOW).reporting_total
    assert total is not None and total.currency == "usd"
    assert total.net_revenue == 1000 + 2200 + 325  # ¥500 at 0.0065 is $3.25


def test_the_previous_period_and_the_series(migrated):
    insert_entry(migrated, occurred_at=NOW - 10 * DAY, amount_minor=700)
    insert_entry(migrated, occurred_at=NOW - 3 * DAY, amount_minor=300)
    result = overview(NOW - 7 * DAY, NOW)
    assert [m.gross_revenue for m in result.previous_money] == [700]
    assert [(p.bucket, p.gross_revenue) for p in result.series] == [
        ((NOW - 3 * DAY).replace(hour=0), 300)]  # fmt: skip


def test_breakdowns_by_task_type_and_model(migrated):
    for model, cost in (("gpt-4o", 9000), ("gpt-4o", 1000), ("gpt-4o-mini", 50)):
        insert_task(migrated, type="implement_idea", ai_model=model, cost_micros=cost,
                    finished_at=NOW - DAY, duration_ms=2000)  # fmt: skip
    insert_task(migrated, type="fulfill_order", status="failed", cost_micros=5,
                finished_at=NOW - DAY, duration_ms=100)  # fmt: skip
    insert_task(migrated, type="fulfill_order", status="pending", cost_micros=None)
    period = parse_period(range="7d", now=NOW)
    with session_scope(readonly=True) as session:
        types = service.costs_by_type(session, period)
        models = service.costs_by_model(session, period, type="implement_idea")
    assert [(r.type, r.tasks, r.failed, r.cost_micros) for r in types] == [
        ("implement_idea", 3, 0, 10_050), ("fulfill_order", 1, 1, 5)]  # fmt: skip
    assert [(r.ai_model, r.tasks, r.cost_micros, r.avg_duration_ms) for r in models] == [
        ("gpt-4o", 2, 10_000, 2000), ("gpt-4o-mini", 1, 50, 2000)]  # fmt: skip


def test_an_empty_period_has_zero_figures_and_no_total_to_convert(migrated):
    result = overview(NOW - 7 * DAY, NOW)
    assert result.money == [] and result.ai.tasks == 0
    assert result.reporting_total is not None and result.reporting_total.net_income == 0


def test_drill_down_rows_and_their_counts_agree_before_and_after_a_refresh(migrated):
    a_month_of_business(migrated)
    insert_entry(migrated, occurred_at=NOW - 4 * DAY, order_id="order_7", source_ref="ch_7")
    period = parse_period(range="30d", now=NOW)

    def drill(**filters):  # type: ignore[no-untyped-def]
        with session_scope(readonly=True) as session:
            kinds = filters.pop("kinds", None)
            return service.ledger(session, period, LedgerFilters(**filters), kinds=kinds,
                                  limit=1000)  # fmt: skip

    for _ in range(2):
        charges = drill(kinds=["charge"], currency="usd", status="succeeded")
        assert charges.total == len(charges.rows) == 30  # 29 whole days, today, the order's
        assert all(r.kind == "charge" and r.status == "succeeded" for r in charges.rows)
        assert [r.source_ref for r in drill(order_id="order_7").rows] == ["ch_7"]
        with session_scope(readonly=True) as session:
            wanted = TaskFilters(type="fulfill_order", ai_model="gpt-4o")
            listed = service.tasks(session, period, wanted)
            assert listed.total == len(listed.rows) == 29
        refresh()


def test_an_ideas_rows_include_those_of_its_offers_that_name_no_idea(migrated):
    from governor.offers import service as offers

    with session_scope() as session:
        idea = offers.create_idea(session, title="Resume rewriter")
        offer = offers.create_offer(session, idea_id=idea.id, title="Rewrite", price_minor=4900,
                                    currency="usd")  # fmt: skip
    insert_entry(migrated, occurred_at=NOW - DAY, offer_id=offer.id)  # the idea only by its offer
    insert_entry(migrated, occurred_at=NOW - DAY, idea_id=idea.id, source_ref="ch_idea")
    insert_entry(migrated, occurred_at=NOW - DAY, offer_id="offer_other", source_ref="ch_other")
    period = parse_period(range="7d", now=NOW)
    for _ in range(2):
        with session_scope(readonly=True) as session:
            page = service.ledger(session, period, LedgerFilters(idea_id=idea.id))
            [row] = [r for r in service.revenue_by_idea(session, period) if r.key == idea.id]
        assert page.total == len(page.rows) == 2
        assert row.gross_revenue == 2 * 4900
        refresh()


def test_a_period_reads_whole_days_then_whole_hours_then_raw_rows():
    start = datetime(2026, 11, 1, 10, 30, tzinfo=UTC)
    end = datetime(2026, 11, 5, 14, 15, tzinfo=UTC)
    stale = [datetime(2026, 11, 3, 9, tzinfo=UTC), datetime(2026, 11, 5, 2, tzinfo=UTC)]
    plan = rollups.Plan.of(start, end, stale, ("day", "hour"))
    at = lambda day, hour, minute=0: datetime(2026, 11, day, hour, minute, tzinfo=UTC)  # noqa: E731
    assert plan.day == [(at(2, 0), at(3, 0)), (at(4, 0), at(5, 0))]  # the 3rd has a change
    assert plan.hour == [(at(1, 11), at(2, 0)), (at(3, 0), at(3, 9)), (at(3, 10), at(4, 0)),
                         (at(5, 0), at(5, 2)), (at(5, 3), at(5, 14))]  # fmt: skip
    assert plan.raw == [(at(1, 10, 30), at(1, 11)), (at(3, 9), at(3, 10)), (at(5, 2), at(5, 3)),
                        (at(5, 14), at(5, 14, 15))]  # fmt: skip
    hourly = rollups.Plan.of(start, end, stale, ("hour",))
    assert hourly.day == [] and hourly.raw == plan.raw


def test_hourly_series_are_the_same_from_raw_rows_and_from_the_rollups(migrated):
    for i, hours in enumerate((1, 2, 2, 5, 30, 49)):
        insert_entry(migrated, occurred_at=NOW - timedelta(hours=hours, minutes=10),
                     amount_minor=100 * hours, source_ref=f"ch_{i}")  # fmt: skip

    def series():  # type: ignore[no-untyped-def]
        period = parse_period(range="3d", grain="hour", now=NOW)
        with session_scope(readonly=True) as session:
            return service.overview(session, period, get_settings()).series

    raw = series()
    assert refresh() == {"ledger": 5}
    assert series() == raw
    assert [(p.bucket, p.gross_revenue) for p in raw][:2] == [
        (NOW - timedelta(hours=50), 4900), (NOW - timedelta(hours=31), 3000)]  # fmt: skip


def test_an_upgrade_builds_the_hourly_rollups_from_what_is_already_there(migrated):
    from governor.storage.migrate import migrate

    a_month_of_business(migrated)
    before = overview(NOW - 30 * DAY, NOW)
    migrate(migrated, "downgrade", "0005", backup=False)
    with migrated.connect() as conn:  # the pending hours became pending days
        days = conn.execute(sa.text("SELECT COUNT(DISTINCT day) FROM rollup_changes")).scalar()
    assert days == 30
    migrate(migrated, "upgrade", "head", backup=False)
    assert pending_changes() == 0  # the upgrade rebuilt every rollup
    assert overview(NOW - 30 * DAY, NOW) == before
    with migrated.connect() as conn:
        hours = conn.execute(sa.text("SELECT SUM(entries) FROM ledger_hourly")).scalar()
    assert hours == 30 * 2 + 4
