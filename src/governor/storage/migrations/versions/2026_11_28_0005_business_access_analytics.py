"""Business objects (ideas, offers, customers, orders), access (users, API tokens), and the
analytics rollups with the triggers that mark their stale days.

Revision ID: 0005
Revises: 0004
Created: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op

from governor.storage.migrations.rollup_sql import create_triggers, drop_triggers, truncated

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

TIMESTAMP = sa.DateTime(timezone=True)


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
    create_triggers("day")
    # Whatever the ledger and the tasks already hold is stale in the (empty) rollups.
    op.execute("INSERT INTO rollup_changes (source, day) SELECT DISTINCT 'ledger', day FROM "
               f"({_day_select('ledger_entries', 'occurred_at')}) AS days")  # fmt: skip
    op.execute("INSERT INTO rollup_changes (source, day) SELECT DISTINCT 'tasks', day FROM "
               f"({_day_select('execution_tasks', 'finished_at')}) AS days")  # fmt: skip


def _day_select(table: str, when: str) -> str:
    return f"SELECT {truncated(when, 'day')} AS day FROM {table} WHERE {when} IS NOT NULL"


def downgrade() -> None:
    drop_triggers()
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
