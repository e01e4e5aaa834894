"""`governor ideas|offers|orders list|show` as a user types them (the apps, before mounting)."""

import json
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from governor.cli.business import ideas, offers, orders
from governor.errors import BadInput, NotFound
from governor.offers import service
from governor.storage.db import get_engine, session_scope
from governor.storage.migrate import migrate
from tests.offers.test_service import T0, make_order


@pytest.fixture
def sqlite_db(tmp_path: Path, configure) -> Engine:
    """A migrated SQLite database: the commands' wiring does not depend on the database kind
    (tests/offers/test_service.py runs the services on both)."""
    configure(database_url=f"sqlite:///{tmp_path / 'offers.db'}")
    engine = get_engine()
    migrate(engine, "upgrade", "head", backup=False)
    return engine


def test_list_and_show_as_json_and_tables(sqlite_db: Engine):
    ids = make_order(sqlite_db)
    with session_scope(sqlite_db) as session:
        service.mark_paid(session, ids["order"], charge_id="ch_cli", at=T0)
    runner = CliRunner()

    listed = runner.invoke(ideas, ["list", "--json"])
    assert listed.exit_code == 0, listed.output
    assert [i["id"] for i in json.loads(listed.stdout)] == [ids["idea"]]
    shown = json.loads(runner.invoke(offers, ["show", ids["offer"], "--json"]).stdout)
    assert shown["price_minor"] == 4900 and shown["orders_by_status"] == {"paid": 1}
    paid = json.loads(runner.invoke(orders, ["list", "--status", "paid", "--json"]).stdout)
    assert [(o["id"], o["stripe_charge_id"]) for o in paid] == [(ids["order"], "ch_cli")]
    assert (
        json.loads(runner.invoke(orders, ["list", "--status", "refunded", "--json"]).stdout) == []
    )

    table = runner.invoke(orders, ["show", ids["order"]])
    assert table.exit_code == 0, table.output
    assert "49.00 USD" in table.stdout and "Ada Adler" in table.stdout
    listed_table = runner.invoke(offers, ["list"]).stdout  # a narrow terminal wraps the title
    assert "Resume" in listed_table and "rewrite" in listed_table
    assert "AI resume rewriter" in runner.invoke(ideas, ["show", ids["idea"]]).stdout


def test_unknown_ids_and_statuses_are_governor_errors(sqlite_db: Engine):
    runner = CliRunner()
    missing = runner.invoke(orders, ["show", "order_missing"])
    assert isinstance(missing.exception, NotFound)  # the root command prints it, exit 2
    assert "No order order_missing" in missing.exception.message
    bad = runner.invoke(ideas, ["list", "--status", "dreaming"])
    assert bad.exception is not None and "Unknown idea status" in str(bad.exception)


@pytest.fixture(autouse=True)
def _wide_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "200")  # Rich tables: no ids cut short


def test_status_history_and_stripe_ids_from_the_command_line(sqlite_db: Engine):
    ids = make_order(sqlite_db)
    runner = CliRunner()
    paused = runner.invoke(offers, ["status", ids["offer"], "paused", "--reason", "restock"])
    assert paused.exit_code == 0, paused.output
    assert "live → paused (restock)" in paused.stdout
    retired = runner.invoke(
        offers, ["status", ids["offer"], "retired", "--reason", "replaced", "--json"]
    )
    assert json.loads(retired.stdout)["to_status"] == "retired"
    again = runner.invoke(offers, ["status", ids["offer"], "live", "--reason", "oops"])
    assert isinstance(again.exception, BadInput) and "retired is final" in str(again.exception.hint)
    linked = runner.invoke(offers, ["stripe", ids["offer"], "--payment-link", "plink_1Q", "--json"])
    assert json.loads(linked.stdout)["stripe_payment_link_id"] == "plink_1Q"

    history = json.loads(runner.invoke(offers, ["history", ids["offer"], "--json"]).stdout)
    assert [(h["from_status"], h["to_status"], h["reason"]) for h in history] == [
        (None, "live", "created"),
        ("live", "paused", "restock"),
        ("paused", "retired", "replaced"),
    ]
    assert history[1]["actor"].startswith("cli:")
    shown = runner.invoke(offers, ["show", ids["offer"]])
    assert shown.exit_code == 0, shown.output
    assert "Status history" in shown.stdout and "restock" in shown.stdout
    assert "plink_1Q" in shown.stdout
    assert json.loads(runner.invoke(offers, ["show", ids["offer"], "--json"]).stdout)["history"]
