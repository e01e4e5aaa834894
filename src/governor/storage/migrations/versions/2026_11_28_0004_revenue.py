"""Revenue: the Stripe webhook inbox, the ledger, Stripe's balance transactions, reconciliation
runs and their discrepancies, sync checkpoints, and alert records.

Revision ID: 0004
Revises: 0003
Created: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

JSON_DOCUMENT = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "alerts",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("severity", sa.Integer(), nullable=False),
        sa.Column("fingerprint", sa.String(length=400), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("details", JSON_DOCUMENT, nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("first_seen", TIMESTAMP, nullable=False),
        sa.Column("last_seen", TIMESTAMP, nullable=False),
        sa.Column("acknowledged_at", TIMESTAMP, nullable=True),
        sa.Column("resolved_at", TIMESTAMP, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_alerts"),
    )
    op.create_index("ix_alerts_fingerprint", "alerts", ["fingerprint"], unique=True)
    op.create_index("ix_alerts_status_last_seen", "alerts", ["status", "last_seen"], unique=False)
    op.create_table(
        "ledger_entries",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("occurred_at", TIMESTAMP, nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("source_ref", sa.String(length=255), nullable=False),
        sa.Column("balance_transaction_id", sa.String(length=255), nullable=True),
        sa.Column("charge_id", sa.String(length=255), nullable=True),
        sa.Column("order_id", sa.String(length=255), nullable=True),
        sa.Column("offer_id", sa.String(length=255), nullable=True),
        sa.Column("idea_id", sa.String(length=255), nullable=True),
        sa.Column("task_id", sa.String(length=40), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("watermark", TIMESTAMP, nullable=False),
        sa.Column("event_id", sa.String(length=255), nullable=True),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_ledger_entries"),
    )
    op.create_index(
        "ix_ledger_entries_balance_transaction_id",
        "ledger_entries",
        ["balance_transaction_id"],
        unique=False,
    )
    op.create_index("ix_ledger_entries_charge_id", "ledger_entries", ["charge_id"], unique=False)
    op.create_index(
        "ix_ledger_entries_kind_source_ref", "ledger_entries", ["kind", "source_ref"], unique=True
    )
    op.create_index(
        "ix_ledger_entries_occurred_at", "ledger_entries", ["occurred_at"], unique=False
    )
    op.create_index("ix_ledger_entries_order_id", "ledger_entries", ["order_id"], unique=False)
    op.create_table(
        "reconciliation_runs",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("window_start", TIMESTAMP, nullable=False),
        sa.Column("window_end", TIMESTAMP, nullable=False),
        sa.Column("origin", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("counts", JSON_DOCUMENT, nullable=True),
        sa.Column("started_at", TIMESTAMP, nullable=False),
        sa.Column("finished_at", TIMESTAMP, nullable=True),
        sa.Column("task_id", sa.String(length=40), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_reconciliation_runs"),
    )
    op.create_index(
        "ix_reconciliation_runs_started_at", "reconciliation_runs", ["started_at"], unique=False
    )
    op.create_table(
        "stripe_balance_transactions",
        sa.Column("id", sa.String(length=255), nullable=False),
        sa.Column("type", sa.String(length=64), nullable=True),
        sa.Column("reporting_category", sa.String(length=64), nullable=False),
        sa.Column("source_id", sa.String(length=255), nullable=True),
        sa.Column("ledger_kind", sa.String(length=32), nullable=False),
        sa.Column("match_ref", sa.String(length=255), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("fee_minor", sa.BigInteger(), nullable=False),
        sa.Column("net_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=True),
        sa.Column("created", TIMESTAMP, nullable=False),
        sa.Column("available_on", TIMESTAMP, nullable=True),
        sa.Column("payout_id", sa.String(length=255), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("origin", sa.String(length=16), nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_stripe_balance_transactions"),
    )
    op.create_index(
        "ix_stripe_balance_transactions_created",
        "stripe_balance_transactions",
        ["created"],
        unique=False,
    )
    op.create_index(
        "ix_stripe_balance_transactions_ledger_kind_match_ref",
        "stripe_balance_transactions",
        ["ledger_kind", "match_ref"],
        unique=False,
    )
    op.create_index(
        "ix_stripe_balance_transactions_payout_id",
        "stripe_balance_transactions",
        ["payout_id"],
        unique=False,
    )
    op.create_table(
        "stripe_events",
        sa.Column("id", sa.String(length=255), nullable=False),
        sa.Column("type", sa.String(length=100), nullable=False),
        sa.Column("created", TIMESTAMP, nullable=False),
        sa.Column("livemode", sa.Boolean(), nullable=False),
        sa.Column("object_id", sa.String(length=255), nullable=True),
        sa.Column("payload", JSON_DOCUMENT, nullable=False),
        sa.Column("origin", sa.String(length=16), nullable=False),
        sa.Column("received_at", TIMESTAMP, nullable=False),
        sa.Column("handled_at", TIMESTAMP, nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("retry_at", TIMESTAMP, nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_stripe_events"),
    )
    op.create_index(
        "ix_stripe_events_handled_at_created",
        "stripe_events",
        ["handled_at", "created"],
        unique=False,
    )
    op.create_index("ix_stripe_events_object_id", "stripe_events", ["object_id"], unique=False)
    op.create_table(
        "stripe_sync_checkpoints",
        sa.Column("resource", sa.String(length=64), nullable=False),
        sa.Column("window_start", TIMESTAMP, nullable=False),
        sa.Column("window_end", TIMESTAMP, nullable=False),
        sa.Column("cursor", sa.String(length=255), nullable=True),
        sa.Column("done", sa.Boolean(), nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("resource", name="pk_stripe_sync_checkpoints"),
    )
    op.create_table(
        "discrepancies",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("run_id", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("stripe_id", sa.String(length=255), nullable=False),
        sa.Column("expected", JSON_DOCUMENT, nullable=True),
        sa.Column("actual", JSON_DOCUMENT, nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=True),
        sa.Column("evidence", JSON_DOCUMENT, nullable=True),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["reconciliation_runs.id"],
            name="fk_discrepancies_run_id_reconciliation_runs",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_discrepancies"),
    )
    op.create_index(
        "ix_discrepancies_kind_stripe_id", "discrepancies", ["kind", "stripe_id"], unique=False
    )
    op.create_index("ix_discrepancies_run_id", "discrepancies", ["run_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_discrepancies_run_id", table_name="discrepancies")
    op.drop_index("ix_discrepancies_kind_stripe_id", table_name="discrepancies")
    op.drop_table("discrepancies")
    op.drop_table("stripe_sync_checkpoints")
    op.drop_index("ix_stripe_events_object_id", table_name="stripe_events")
    op.drop_index("ix_stripe_events_handled_at_created", table_name="stripe_events")
    op.drop_table("stripe_events")
    op.drop_index(
        "ix_stripe_balance_transactions_payout_id", table_name="stripe_balance_transactions"
    )
    op.drop_index(
        "ix_stripe_balance_transactions_ledger_kind_match_ref",
        table_name="stripe_balance_transactions",
    )
    op.drop_index(
        "ix_stripe_balance_transactions_created", table_name="stripe_balance_transactions"
    )
    op.drop_table("stripe_balance_transactions")
    op.drop_index("ix_reconciliation_runs_started_at", table_name="reconciliation_runs")
    op.drop_table("reconciliation_runs")
    op.drop_index("ix_ledger_entries_order_id", table_name="ledger_entries")
    op.drop_index("ix_ledger_entries_occurred_at", table_name="ledger_entries")
    op.drop_index("ix_ledger_entries_kind_source_ref", table_name="ledger_entries")
    op.drop_index("ix_ledger_entries_charge_id", table_name="ledger_entries")
    op.drop_index("ix_ledger_entries_balance_transaction_id", table_name="ledger_entries")
    op.drop_table("ledger_entries")
    op.drop_index("ix_alerts_status_last_seen", table_name="alerts")
    op.drop_index("ix_alerts_fingerprint", table_name="alerts")
    op.drop_table("alerts")
