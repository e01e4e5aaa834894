"""`governor demo`: write a simulated business into an empty database (or, with --scale, bulk
rows for benchmarks)."""

from typing import Any

import typer

from governor.cli.guarded import guarded_engine
from governor.cli.output import console, print_json, print_table


def demo(
    seed: int = typer.Option(7, "--seed", help="The same seed writes the same business."),
    days: int = typer.Option(90, "--days", help="Days of history, up to now."),
    scale: int | None = typer.Option(
        None, "--scale", help="Instead: N tasks and N ledger entries in bulk, for benchmarks."
    ),
    sessions: int = typer.Option(
        0,
        "--sessions",
        help="With --scale: also N checkout sessions with their views, orders, fulfilment "
        "steps and ratings.",
    ),
    scenario: str | None = typer.Option(
        None,
        "--scenario",
        help="Something going wrong in the last days: failed-charges, "
        "refund-wave, double-charge, agent-failures, cost-spike; or seed: the world of the "
        "seed FSAR report (then run `governor audit run`).",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON only."),
) -> None:
    """Write a demo business into an empty database: ideas, offers, orders paid through a
    Stripe stand-in and Governor's own webhooks, the agents' tasks."""
    from governor.config import get_settings
    from governor.demo.business.history import populate
    from governor.demo.business.scale import populate_scale

    engine = guarded_engine()
    if scale is not None:
        if scenario is not None:
            from governor.errors import BadInput

            raise BadInput(
                "--scenario and --scale do not go together.",
                hint="--scale writes bulk rows for benchmarks, with no story.",
            )
        result = populate_scale(engine, rows=scale, seed=seed, days=days, sessions=sessions)
        if as_json:
            print_json(result.to_dict())
            return
        console.print(
            f"Wrote {result.ledger_entries:,} ledger entries ({result.orders:,} orders) and "
            f"{result.tasks:,} tasks ({result.spans:,} spans) over {days} days in "
            f"{result.seconds['total']:.1f} s "
            f"(ledger {result.seconds['ledger']:.1f} s, tasks {result.seconds['tasks']:.1f} s, "
            f"rollups {result.seconds['rollups']:.1f} s)."
        )
        if sessions:
            console.print(
                f"And {result.checkout_sessions:,} checkout sessions ({result.funnel_events:,} "
                f"views, {result.funnel_orders:,} orders, {result.fulfilments:,} fulfilment "
                f"steps, {result.feedback:,} ratings) in {result.seconds['funnel']:.1f} s."
            )
        return
    if scenario == "seed":
        from governor.demo.business.seed_world import SCHEMA_CHANGE, build_seed_world

        planted = build_seed_world(engine, get_settings(), seed=seed, days=min(days, 30))
        if as_json:
            print_json(planted.to_dict())
            return
        console.print("The seed report's world is planted:", markup=False)
        for key, value in planted.to_dict().items():
            console.print(f"  {key}: {value}", markup=False)
        console.print(f"{SCHEMA_CHANGE} Run `governor audit run`.", markup=False)
        return
    summary = populate(engine, get_settings(), seed=seed, days=days, scenario=scenario)
    if as_json:
        print_json(summary.to_dict())
        return
    _print(summary)


def _print(summary: Any) -> None:
    from rich.table import Table

    from governor.revenue.currency import format_minor

    orders = sum(summary.orders.values())
    by_status = ", ".join(f"{n} {s}" for s, n in summary.orders.items())
    console.print(
        f"Demo business (seed {summary.seed}, {summary.days} days"
        f"{', scenario ' + summary.scenario if summary.scenario else ''}) written in "
        f"{summary.seconds:.1f} s: {summary.ideas} ideas, {summary.offers} offers, "
        f"{summary.customers} customers, {orders} orders ({by_status})."
    )
    tasks = sum(summary.tasks.values())
    console.print(
        f"{tasks} agent tasks ({', '.join(f'{n} {t}' for t, n in summary.task_types.items())}), "
        f"{summary.spans} spans, {summary.tokens_in + summary.tokens_out:,} tokens, "
        f"AI cost ${summary.ai_cost_micros / 1_000_000:,.2f}; {summary.stripe_events} Stripe "
        f"events received through the webhook."
    )
    table = Table(
        "currency",
        "charges",
        "refunds",
        "fees",
        "disputes",
        "costs",
        "net",
        title="Money (from the ledger)",
    )
    for currency, sums in summary.money.items():
        table.add_row(
            currency.upper(),
            *(
                format_minor(sums[k], currency)
                for k in ("charges", "refunds", "fees", "disputes", "costs", "net")
            ),
        )
    print_table(table)
    if summary.discrepancies:
        found = ", ".join(
            f"{n} {k.replace('_', ' ')}"
            for k, n in summary.discrepancies.items()
            if k != "discrepancies"
        )
        console.print(f"Reconciliation found: {found}.")
    console.print("Next: governor serve, then open http://127.0.0.1:8000")
