"""`governor ideas|offers|orders …`: what the business sells and to whom; offers' statuses;
orders' fulfilment steps."""

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

import typer

from governor.cli.guarded import guarded_engine
from governor.cli.output import console, print_json, print_table

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

ideas = typer.Typer(help="The ideas the agents work on.", no_args_is_help=True)
offers = typer.Typer(help="What the business sells, at which price.", no_args_is_help=True)
orders = typer.Typer(help="Who bought what, and how far each order got.", no_args_is_help=True)

JSON = typer.Option(False, "--json", help="Print JSON only.")
STATUS = typer.Option(None, "--status", help="Only this status.")
LIMIT = typer.Option(50, "--limit", help="At most this many, newest first.")


def _read(work: Callable[["Session"], Any]) -> Any:
    from governor.storage.db import session_scope

    with session_scope(guarded_engine(), readonly=True) as session:
        return work(session)


def _money(amount: int, currency: str) -> str:
    from governor.revenue.currency import format_minor

    return f"{format_minor(amount, currency)} {currency.upper()}"


def _when(value: datetime | None) -> str:
    return value.isoformat(timespec="seconds") if value is not None else ""


def _dollars(micros: int | None) -> str:
    return "" if micros is None else f"${micros / 1_000_000:.4f}"


def _task_table(tasks: list[Any], title: str) -> Any:
    from rich.table import Table

    table = Table(
        "id",
        "type",
        "status",
        "attempts",
        "ai_model",
        "duration_ms",
        "cost",
        "finished_at",
        title=title,
    )
    for t in tasks:
        table.add_row(
            t.id,
            t.type,
            t.status,
            str(t.attempts),
            t.ai_model or "",
            str(t.duration_ms or ""),
            _dollars(t.cost_micros),
            _when(t.finished_at),
        )
    return table


def _fields(data: Any, names: tuple[str, ...]) -> None:
    for name in names:
        value = getattr(data, name)
        console.print(
            f"[bold]{name}[/bold]: {_when(value) if isinstance(value, datetime) else value}"
        )


# ideas ---------------------------------------------------------------------------------------


@ideas.command("list")
def list_ideas(status: str | None = STATUS, limit: int = LIMIT, as_json: bool = JSON) -> None:
    """Ideas, newest first."""
    from rich.table import Table

    from governor.offers import service
    from governor.offers.schemas import dump

    found = _read(lambda s: service.list_ideas(s, status=status, limit=limit))
    if as_json:
        print_json(dump(found))
        return
    table = Table("id", "title", "status", "created_at")
    for idea in found:
        table.add_row(idea.id, idea.title, idea.status, _when(idea.created_at))
    print_table(table)


@ideas.command("show")
def show_idea(idea_id: str, as_json: bool = JSON) -> None:
    """One idea, its offers and its newest tasks."""
    from rich.table import Table

    from governor.offers import service
    from governor.offers.schemas import dump

    idea = _read(lambda s: service.get_idea(s, idea_id))
    if as_json:
        print_json(dump(idea))
        return
    _fields(idea, ("id", "title", "status", "description", "created_at"))
    table = Table("id", "title", "price", "status", "created_at", title="Offers")
    for o in idea.offers:
        table.add_row(
            o.id, o.title, _money(o.price_minor, o.currency), o.status, _when(o.created_at)
        )
    print_table(table)
    print_table(_task_table(idea.tasks, f"Tasks ({len(idea.tasks)} of {idea.tasks_total})"))


# offers --------------------------------------------------------------------------------------


@offers.command("list")
def list_offers(
    status: str | None = STATUS,
    idea: str | None = typer.Option(None, "--idea", help="Only this idea's offers."),
    limit: int = LIMIT,
    as_json: bool = JSON,
) -> None:
    """Offers, newest first."""
    from rich.table import Table

    from governor.offers import service
    from governor.offers.schemas import dump

    found = _read(lambda s: service.list_offers(s, status=status, idea_id=idea, limit=limit))
    if as_json:
        print_json(dump(found))
        return
    table = Table("id", "title", "price", "status", "idea_id", "created_at")
    for o in found:
        table.add_row(
            o.id,
            o.title,
            _money(o.price_minor, o.currency),
            o.status,
            o.idea_id or "",
            _when(o.created_at),
        )
    print_table(table)


@offers.command("show")
def show_offer(offer_id: str, as_json: bool = JSON) -> None:
    """One offer, its idea, its newest orders and tasks."""
    from governor.offers import service
    from governor.offers.schemas import dump

    offer = _read(lambda s: service.get_offer(s, offer_id))
    if as_json:
        print_json(dump(offer))
        return
    _fields(offer, ("id", "title", "status", "created_at"))
    console.print(f"[bold]price[/bold]: {_money(offer.price_minor, offer.currency)}")
    if offer.idea is not None:
        console.print(f"[bold]idea[/bold]: {offer.idea.id} {offer.idea.title}")
    for name in STRIPE_FIELDS:
        if getattr(offer, name):
            console.print(f"[bold]{name}[/bold]: {getattr(offer, name)}")
    print_table(_history_table(offer.history))
    counts = ", ".join(f"{n} {status}" for status, n in offer.orders_by_status.items())
    console.print(f"[bold]orders[/bold]: {offer.orders_total} ({counts or 'none yet'})")
    print_table(_order_table(offer.orders, f"Newest orders ({len(offer.orders)})"))
    print_table(_task_table(offer.tasks, f"Tasks ({len(offer.tasks)} of {offer.tasks_total})"))


STRIPE_FIELDS = ("stripe_product_id", "stripe_price_id", "stripe_payment_link_id",
                 "created_by_task_id")  # fmt: skip


def _history_table(changes: list[Any]) -> Any:
    from rich.table import Table

    table = Table("at", "from", "to", "actor", "reason", title="Status history")
    for c in changes:
        table.add_row(_when(c.at), c.from_status or "", c.to_status, c.actor, c.reason or "")
    return table


def _write(work: Callable[["Session"], Any]) -> Any:
    from governor.storage.db import session_scope

    with session_scope(guarded_engine()) as session:
        return work(session)


def _actor() -> str:
    import getpass

    return f"cli:{getpass.getuser()}"


@offers.command("status")
def set_offer_status(
    offer_id: str,
    status: str = typer.Argument(..., help="live, paused or retired (retired is final)."),
    reason: str = typer.Option(..., "--reason", help="Why; kept in the offer's history."),
    as_json: bool = JSON,
) -> None:
    """Move an offer along its lifecycle: draft → live ⇄ paused → retired."""
    from governor.offers import lifecycle
    from governor.offers.schemas import dump

    change = _write(
        lambda s: lifecycle.set_status(s, offer_id, status, reason=reason, actor=_actor())
    )
    if as_json:
        print_json(dump(change))
        return
    console.print(f"Offer {offer_id}: {change.from_status} → {change.to_status} ({change.reason})")


@offers.command("history")
def offer_history(offer_id: str, as_json: bool = JSON) -> None:
    """Every status change of an offer, oldest first: when, who, why."""
    from governor.offers import lifecycle
    from governor.offers.schemas import dump

    changes = _read(lambda s: lifecycle.history(s, offer_id))
    if as_json:
        print_json(dump(changes))
        return
    print_table(_history_table(changes))


@offers.command("stripe")
def set_offer_stripe(
    offer_id: str,
    product: str | None = typer.Option(None, "--product", help="Its Stripe product (prod_…)."),
    price: str | None = typer.Option(None, "--price", help="Its Stripe price (price_…)."),
    payment_link: str | None = typer.Option(
        None, "--payment-link", help="Its Stripe payment link (plink_…)."
    ),
    as_json: bool = JSON,
) -> None:
    """Record the Stripe ids that sell an offer (made in Stripe: Governor creates none)."""
    from governor.offers import lifecycle
    from governor.offers.schemas import OfferOut, dump

    offer = _write(
        lambda s: OfferOut.model_validate(
            lifecycle.set_stripe_refs(
                s, offer_id, product=product, price=price, payment_link=payment_link
            )
        )
    )
    if as_json:
        print_json(dump(offer))
        return
    _fields(offer, ("id", *STRIPE_FIELDS[:3]))


# orders --------------------------------------------------------------------------------------


def _order_table(found: list[Any], title: str | None = None) -> Any:
    from rich.table import Table

    table = Table(
        "id",
        "offer_id",
        "amount",
        "status",
        "stripe_charge_id",
        "created_at",
        "paid_at",
        "fulfilled_at",
        title=title,
    )
    for o in found:
        table.add_row(
            o.id,
            o.offer_id,
            _money(o.amount_minor, o.currency),
            o.status,
            o.stripe_charge_id or "",
            _when(o.created_at),
            _when(o.paid_at),
            _when(o.fulfilled_at),
        )
    return table


@orders.command("list")
def list_orders(
    status: str | None = STATUS,
    offer: str | None = typer.Option(None, "--offer", help="Only this offer's orders."),
    idea: str | None = typer.Option(None, "--idea", help="Only orders of this idea's offers."),
    limit: int = LIMIT,
    as_json: bool = JSON,
) -> None:
    """Orders, newest first."""
    from governor.offers import service
    from governor.offers.schemas import dump

    found = _read(
        lambda s: service.list_orders(s, status=status, offer_id=offer, idea_id=idea, limit=limit)
    )
    if as_json:
        print_json(dump(found))
        return
    print_table(_order_table(found))


@orders.command("show")
def show_order(order_id: str, as_json: bool = JSON) -> None:
    """One order, its customer, every ledger entry of it and its tasks."""
    from rich.table import Table

    from governor.offers import service
    from governor.offers.schemas import dump

    order = _read(lambda s: service.get_order(s, order_id))
    if as_json:
        print_json(dump(order))
        return
    _fields(order, ("id", "status", "stripe_charge_id", "created_at", "paid_at", "fulfilled_at"))
    console.print(f"[bold]amount[/bold]: {_money(order.amount_minor, order.currency)}")
    if order.offer is not None:
        console.print(f"[bold]offer[/bold]: {order.offer.id} {order.offer.title}")
    if order.customer is not None:
        who = " ".join(filter(None, (order.customer.name, order.customer.email)))
        console.print(f"[bold]customer[/bold]: {order.customer.id} {who}")
    table = Table(
        "kind",
        "amount",
        "status",
        "occurred_at",
        "source_ref",
        "charge_id",
        "balance_transaction_id",
        title="Ledger",
    )
    for e in order.ledger:
        table.add_row(
            e.kind,
            _money(e.amount_minor, e.currency),
            e.status,
            _when(e.occurred_at),
            e.source_ref,
            e.charge_id or "",
            e.balance_transaction_id or "",
        )
    print_table(table)
    console.print(f"[bold]net[/bold]: {_money(order.net_minor, order.currency)}")
    print_table(_task_table(order.tasks, f"Tasks ({len(order.tasks)})"))


@orders.command("feedback-link")
def feedback_link(order_id: str) -> None:
    """The signed feedback link of a fulfilled order, to send to its customer (no sign-in)."""
    from governor.config import get_settings
    from governor.offers import feedback

    typer.echo(_read(lambda s: feedback.feedback_link(s, get_settings(), order_id)))


def _steps_table(steps: list[Any]) -> Any:
    from rich.table import Table

    table = Table("step", "provider", "status", "attempts", "429s", "finished_at", "last_error")
    for s in steps:
        table.add_row(s.step, s.provider, s.status, str(s.attempts), str(s.throttled),
                      _when(s.finished_at), s.last_error or "")  # fmt: skip
    return table


@orders.command("fulfilment")
def show_fulfilment(order_id: str, as_json: bool = JSON) -> None:
    """An order's fulfilment steps: provider, status, attempts, 429s, the last error."""
    from governor.fulfilment.service import get_fulfilment

    found = _read(lambda s: get_fulfilment(s, order_id))
    if as_json:
        print_json(found.model_dump(mode="json"))
        return
    done = f", fulfilled {_when(found.fulfilled_at)}" if found.fulfilled_at else ""
    console.print(f"[bold]order[/bold]: {found.order_id} ({found.order_status}{done})")
    if not found.steps:
        console.print("No step has run yet.")
        return
    print_table(_steps_table(found.steps))


@orders.command("retry-fulfilment")
def retry_fulfilment(
    order_id: str,
    step: str = typer.Argument(..., help="The step, as `governor orders fulfilment` names it."),
    as_json: bool = JSON,
) -> None:
    """Try a failed or action-required step again (e.g. once the customer gave an address)."""
    from governor.fulfilment.service import retry_step

    retried = _write(lambda s: retry_step(s, order_id, step))
    if as_json:
        print_json(retried.model_dump(mode="json"))
        return
    console.print(f"Order {order_id}: step {step} is pending again (task {retried.task_id}).")
