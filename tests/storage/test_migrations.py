"""The migration stream: dated files, and every step down and up again with rows in the tables."""

import itertools
import re

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from governor.storage import revisions
from governor.storage.guard import check_schema
from governor.storage.migrate import migrate
from tests.factories import insert_task, task_row

KEPT = ["id", "type", "status", "input", "tokens_in", "tokens_out", "cost_micros", "created_at"]


def test_migration_files_are_dated_and_form_one_line():
    history = revisions.history()
    assert [m.revision for m in history][:3] == ["0001", "0002", "0003"]
    for migration in history:
        assert re.fullmatch(r"\d{4}_\d{2}_\d{2}_\d{4}_[a-z0-9_]+\.py", migration.path), (
            migration.path
        )
        assert migration.message
    for older, newer in itertools.pairwise(history):
        assert newer.down_revision == older.revision


def test_fresh_database_built_by_migrations_matches_the_models(migrated: Engine):
    report = check_schema(migrated)
    assert report.problems == []
    assert report.revision == revisions.head()


def test_every_step_down_and_up_keeps_the_rows(engine: Engine):
    history = [m.revision for m in revisions.history()]
    migrate(engine, "upgrade", history[0], backup=False)
    task_id = insert_task(engine)
    expected = task_row(engine, task_id, KEPT)
    for previous, revision in itertools.pairwise(history):
        migrate(engine, "upgrade", revision, backup=False)
        migrate(engine, "downgrade", previous, backup=False)
        assert task_row(engine, task_id, KEPT) == expected
        migrate(engine, "upgrade", revision, backup=False)
        assert task_row(engine, task_id, KEPT) == expected
    assert check_schema(engine).problems == []


def test_ai_model_survives_an_upgrade_and_goes_with_a_downgrade(migrated: Engine):
    task_id = insert_task(migrated, ai_model="gpt-4o-mini")
    migrate(migrated, "downgrade", "0001", backup=False)
    with migrated.connect() as conn:
        columns = {c["name"] for c in sa.inspect(conn).get_columns("execution_tasks")}
    assert "ai_model" not in columns
    migrate(migrated, "upgrade", "head", backup=False)
    assert task_row(migrated, task_id, ["ai_model", "type"]) == {
        "ai_model": None,
        "type": "implement_idea",
    }


def test_downgrade_to_base_and_back(migrated: Engine):
    migrate(migrated, "downgrade", "base", backup=False)
    with migrated.connect() as conn:
        assert "execution_tasks" not in sa.inspect(conn).get_table_names()
    migrate(migrated, "upgrade", "head", backup=False)
    assert check_schema(migrated).problems == []


def test_offer_lifecycle_back_fills_a_creation_row_and_downgrades_cleanly(engine: Engine):
    migrate(engine, "upgrade", "0010", backup=False)
    offer = {"id": "offer_01old", "idea_id": None, "title": "Audit", "price_minor": 4900,
             "currency": "usd", "status": "paused",
             "created_at": "2026-03-02 09:30:00+00:00"}  # fmt: skip
    with engine.begin() as conn:
        conn.execute(
            sa.text("INSERT INTO offers (id, idea_id, title, price_minor, currency, status, "
                    "created_at) VALUES (:id, :idea_id, :title, :price_minor, :currency, "
                    ":status, :created_at)"),
            offer,
        )  # fmt: skip
        conn.execute(  # an order holds on to the offer (RESTRICT): the offers table stays
            sa.text("INSERT INTO orders (id, offer_id, amount_minor, currency, status, created_at) "
                    "VALUES ('order_01old', 'offer_01old', 4900, 'usd', 'paid', :created_at)"),
            {"created_at": offer["created_at"]},
        )  # fmt: skip
    migrate(engine, "upgrade", "0011", backup=False)
    with engine.connect() as conn:
        (row,) = conn.execute(sa.text("SELECT * FROM offer_status_changes")).mappings().all()
        columns = {c["name"] for c in sa.inspect(conn).get_columns("offers")}
    assert (row["id"], row["offer_id"], row["from_status"], row["to_status"], row["actor"]) == (
        "osc_offer_01old", "offer_01old", None, "paused", "migration",
    )  # fmt: skip
    assert {"stripe_product_id", "stripe_payment_link_id", "created_by_task_id"} <= columns
    migrate(engine, "downgrade", "0010", backup=False)
    with engine.connect() as conn:
        assert "offer_status_changes" not in sa.inspect(conn).get_table_names()
        columns = {c["name"] for c in sa.inspect(conn).get_columns("offers")}
        kept = conn.execute(sa.text("SELECT id, status FROM offers")).all()
    assert "created_by_task_id" not in columns and "stripe_price_id" not in columns
    assert [tuple(r) for r in kept] == [("offer_01old", "paused")]
    migrate(engine, "upgrade", "head", backup=False)
    assert check_schema(engine).problems == []
