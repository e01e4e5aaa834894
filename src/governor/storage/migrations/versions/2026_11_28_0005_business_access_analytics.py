"""Business objects (ideas, offers, customers, orders), access (users, API tokens), and the
analytics rollups with the triggers that mark their stale days.

Revision ID: 0005
Revises: 0004
Created: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

TIMESTAMP = sa.DateTime(timezone=True)

# The columns whose change moves a ledger entry's or a finished task's place in a rollup.
LEDGER_COLUMNS = ("amount_minor", "currency", "kind", "status", "occurred_at", "offer_id",
                  "idea_id")  # fmt: skip
TASK_COLUMNS = ("status", "finished_at", "kind", "type", "ai_model", "duration_ms", "cost_micros",
                "tokens_in", "tokens_out", "offer_id", "idea_id")  # fmt: skip
SOURCES = (("ledger_entries", "ledger", "occurred_at", LEDGER_COLUMNS),
           ("execution_tasks", "tasks", "finished_at", TASK_COLUMNS))  # fmt: skip


def _sqlite_triggers(table: str, source: str, when: str, columns: tuple[str, ...]) -> list[str]:
    # The day as SQLAlchemy writes datetimes on SQLite, so that it compares with stored ones.
    def day(row: str) -> str:
        return f"strftime('%Y-%m-%d 00:00:00.000000', {row}.{when})"

    def mark(row: str) -> str:
        return (f"INSERT INTO rollup_changes (source, day) SELECT '{source}', {day(row)} "
                f"WHERE {row}.{when} IS NOT NULL;")  # fmt: skip

    changed = " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in columns)
    return [
        f"CREATE TRIGGER trg_{table}_rollup_insert AFTER INSERT ON {table} "
        f"WHEN NEW.{when} IS NOT NULL BEGIN {mark('NEW')} END",
        f"CREATE TRIGGER trg_{table}_rollup_update AFTER UPDATE ON {table} "
        f"WHEN {changed} BEGIN {mark('OLD')} {mark('NEW')} END",
        f"CREATE TRIGGER trg_{table}_rollup_delete AFTER DELETE ON {table} "
        f"WHEN OLD.{when} IS NOT NULL BEGIN {mark('OLD')} END",
    ]


def _postgres_triggers(table: str, source: str, when: str, columns: tuple[str, ...]) -> list[str]:
    function = f"governor_{table}_rollup_change"

    def mark(row: str) -> str:
        day = f"date_trunc('day', {row}.{when}, 'UTC')"
        return (f"IF {row}.{when} IS NOT NULL THEN INSERT INTO rollup_changes (source, day) "
                f"VALUES ('{source}', {day}); END IF;")  # fmt: skip

    old = ", ".join(f"OLD.{c}" for c in columns)
    new = ", ".join(f"NEW.{c}" for c in columns)
    return [
        f"""CREATE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP <> 'INSERT' THEN {mark("OLD")} END IF;
            IF TG_OP <> 'DELETE' THEN {mark("NEW")} END IF;
            RETURN NULL;
        END $$""",
        f"CREATE TRIGGER trg_{table}_rollup_change AFTER INSERT OR DELETE ON {table} "
        f"FOR EACH ROW EXECUTE FUNCTION {function}()",
        f"CREATE TRIGGER trg_{table}_rollup_update AFTER UPDATE ON {table} FOR EACH ROW "
        f"WHEN (({old}) IS DISTINCT FROM ({new})) EXECUTE FUNCTION {function}()",
    ]


def _create_triggers() -> None:
    make = _postgres_triggers if op.get_bind().dialect.name == "postgresql" else _sqlite_triggers
    for table, source, when, columns in SOURCES:
        for statement in make(table, source, when, columns):
            op.execute(statement)


def _drop_triggers() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    for table, *_ in SOURCES:
        if postgres:
            op.execute(f"DROP TRIGGER trg_{table}_rollup_change ON {table}")
            op.execute(f"DROP TRIGGER trg_{table}_rollup_update ON {table}")
            op.execute(f"DROP FUNCTION governor_{table}_rollup_change()")
        else:
            for event in ("insert", "update", "delete"):
                op.execute(f"DROP TRIGGER trg_{table}_rollup_{event}")


def upgrade() -> None:
    op.create_table(
        "customers",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=True),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("stripe_customer_id", sa.String(length=255), nullable=True),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_customers"),
    )
    op.create_index("ix_customers_email", "customers", ["email"], unique=False)
    op.create_table(
        "ideas",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_ideas"),
    )
    op.create_index("ix_ideas_created_at", "ideas", ["created_at"], unique=False)
    op.create_table(
        "offers",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("idea_id", sa.String(length=40), nullable=True),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("price_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.ForeignKeyConstraint(
            ["idea_id"], ["ideas.id"], name="fk_offers_idea_id_ideas", ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_offers"),
    )
    op.create_index("ix_offers_idea_id", "offers", ["idea_id"], unique=False)
    op.create_table(
        "orders",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("offer_id", sa.String(length=40), nullable=False),
        sa.Column("customer_id", sa.String(length=40), nullable=True),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("stripe_charge_id", sa.String(length=255), nullable=True),
        sa.Column("stripe_payment_intent_id", sa.String(length=255), nullable=True),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("paid_at", TIMESTAMP, nullable=True),
        sa.Column("fulfilled_at", TIMESTAMP, nullable=True),
        sa.ForeignKeyConstraint(["customer_id"], ["customers.id"],
                                name="fk_orders_customer_id_customers", ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["offer_id"], ["offers.id"], name="fk_orders_offer_id_offers",
                                ondelete="RESTRICT"),
        sa.PrimaryKeyConstraint("id", name="pk_orders"),
    )  # fmt: skip
    op.create_index("ix_orders_created_at", "orders", ["created_at"], unique=False)
    op.create_index("ix_orders_offer_id_created_at", "orders", ["offer_id", "created_at"])
    op.create_index("ix_orders_stripe_charge_id", "orders", ["stripe_charge_id"], unique=False)
    op.create_table(
        "users",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("password_hash", sa.String(length=200), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("last_login_at", TIMESTAMP, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_users"),
    )
    op.create_index("ix_users_name", "users", ["name"], unique=True)
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("user_id", sa.String(length=40), nullable=True),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("last_used_at", TIMESTAMP, nullable=True),
        sa.Column("revoked_at", TIMESTAMP, nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name="fk_api_tokens_user_id_users", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_api_tokens"),
    )
    op.create_index("ix_api_tokens_token_hash", "api_tokens", ["token_hash"], unique=True)
    op.create_table(
        "ledger_daily",
        sa.Column("day", TIMESTAMP, nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("offer_id", sa.String(length=255), nullable=False),
        sa.Column("idea_id", sa.String(length=255), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("entries", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(
            "day", "currency", "kind", "status", "offer_id", "idea_id", name="pk_ledger_daily"
        ),
    )
    op.create_table(
        "task_daily",
        sa.Column("day", TIMESTAMP, nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("type", sa.String(length=100), nullable=False),
        sa.Column("ai_model", sa.String(length=100), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("offer_id", sa.String(length=40), nullable=False),
        sa.Column("idea_id", sa.String(length=40), nullable=False),
        sa.Column("tasks", sa.BigInteger(), nullable=False),
        sa.Column("duration_ms", sa.BigInteger(), nullable=False),
        sa.Column("cost_micros", sa.BigInteger(), nullable=False),
        sa.Column("tokens_in", sa.BigInteger(), nullable=False),
        sa.Column("tokens_out", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(
            "day", "kind", "type", "ai_model", "status", "offer_id", "idea_id", name="pk_task_daily"
        ),
    )
    op.create_table(
        "rollup_changes",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("source", sa.String(length=8), nullable=False),
        sa.Column("day", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_rollup_changes"),
    )
    op.create_index("ix_rollup_changes_source_day", "rollup_changes", ["source", "day"])
    with op.batch_alter_table("execution_tasks") as batch:
        batch.add_column(sa.Column("order_id", sa.String(length=40), nullable=True))
    op.create_index("ix_execution_tasks_finished_at", "execution_tasks", ["finished_at"])
    op.create_index("ix_execution_tasks_type_ai_model_finished_at", "execution_tasks",
                    ["type", "ai_model", "finished_at"])  # fmt: skip
    op.create_index("ix_ledger_entries_kind_occurred_at", "ledger_entries",
                    ["kind", "occurred_at"])  # fmt: skip
    op.create_index("ix_ledger_entries_offer_id_occurred_at", "ledger_entries",
                    ["offer_id", "occurred_at"])  # fmt: skip
    _create_triggers()
    # Whatever the ledger and the tasks already hold is stale in the (empty) rollups.
    op.execute("INSERT INTO rollup_changes (source, day) SELECT DISTINCT 'ledger', day FROM "
               f"({_day_select('ledger_entries', 'occurred_at')}) AS days")  # fmt: skip
    op.execute("INSERT INTO rollup_changes (source, day) SELECT DISTINCT 'tasks', day FROM "
               f"({_day_select('execution_tasks', 'finished_at')}) AS days")  # fmt: skip


def _day_select(table: str, when: str) -> str:
    if op.get_bind().dialect.name == "postgresql":
        day = f"date_trunc('day', {when}, 'UTC')"
    else:
        day = f"strftime('%Y-%m-%d 00:00:00.000000', {when})"
    return f"SELECT {day} AS day FROM {table} WHERE {when} IS NOT NULL"


def downgrade() -> None:
    _drop_triggers()
    op.drop_index("ix_ledger_entries_offer_id_occurred_at", table_name="ledger_entries")
    op.drop_index("ix_ledger_entries_kind_occurred_at", table_name="ledger_entries")
    op.drop_index("ix_execution_tasks_type_ai_model_finished_at", table_name="execution_tasks")
    op.drop_index("ix_execution_tasks_finished_at", table_name="execution_tasks")
    with op.batch_alter_table("execution_tasks") as batch:
        batch.drop_column("order_id")
    op.drop_index("ix_rollup_changes_source_day", table_name="rollup_changes")
    op.drop_table("rollup_changes")
    op.drop_table("task_daily")
    op.drop_table("ledger_daily")
    op.drop_index("ix_api_tokens_token_hash", table_name="api_tokens")
    op.drop_table("api_tokens")
    op.drop_index("ix_users_name", table_name="users")
    op.drop_table("users")
    op.drop_index("ix_orders_stripe_charge_id", table_name="orders")
    op.drop_index("ix_orders_offer_id_created_at", table_name="orders")
    op.drop_index("ix_orders_created_at", table_name="orders")
    op.drop_table("orders")
    op.drop_index("ix_offers_idea_id", table_name="offers")
    op.drop_table("offers")
    op.drop_index("ix_ideas_created_at", table_name="ideas")
    op.drop_table("ideas")
    op.drop_index("ix_customers_email", table_name="customers")
    op.drop_table("customers")
