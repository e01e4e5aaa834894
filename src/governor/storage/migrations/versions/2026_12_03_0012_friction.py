"""The friction tables: checkout sessions and funnel events, fulfilment steps, feedback; how an
offer is fulfilled (its handler, settings and SLA) and the checkout session an order came from.

Only new tables and nullable columns: existing rows need no back-fill. The downgrade drops them.

Revision ID: 0012
Revises: 0011
Created: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

JSON_DOCUMENT = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "checkout_sessions",
        sa.Column("id", sa.String(length=255), nullable=False),
        sa.Column("offer_id", sa.String(length=40), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("payment_status", sa.String(length=24), nullable=True),
        sa.Column("payment_intent_id", sa.String(length=255), nullable=True),
        sa.Column("charge_id", sa.String(length=255), nullable=True),
        sa.Column("customer_id", sa.String(length=255), nullable=True),
        sa.Column("amount_total_minor", sa.BigInteger(), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=True),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("expires_at", TIMESTAMP, nullable=True),
        sa.Column("completed_at", TIMESTAMP, nullable=True),
        sa.Column("expired_at", TIMESTAMP, nullable=True),
        sa.Column("async_payment", sa.String(length=16), nullable=True),
        sa.Column("async_payment_at", TIMESTAMP, nullable=True),
        sa.Column("recovered_from", sa.String(length=255), nullable=True),
        sa.Column("order_id", sa.String(length=40), nullable=True),
        sa.Column("event_at", TIMESTAMP, nullable=False),
        sa.ForeignKeyConstraint(
            ["offer_id"],
            ["offers.id"],
            name="fk_checkout_sessions_offer_id_offers",
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_checkout_sessions"),
    )
    op.create_index(
        "ix_checkout_sessions_created_at", "checkout_sessions", ["created_at"], unique=False
    )
    op.create_index(
        "ix_checkout_sessions_offer_id_created_at",
        "checkout_sessions",
        ["offer_id", "created_at"],
        unique=False,
    )
    op.create_index(
        "ix_checkout_sessions_payment_intent_id",
        "checkout_sessions",
        ["payment_intent_id"],
        unique=False,
    )
    op.create_index(
        "ix_checkout_sessions_recovered_from", "checkout_sessions", ["recovered_from"], unique=False
    )
    op.create_table(
        "funnel_events",
        sa.Column("id", sa.String(length=48), nullable=False),
        sa.Column("offer_id", sa.String(length=40), nullable=False),
        sa.Column("step", sa.String(length=24), nullable=False),
        sa.Column("at", TIMESTAMP, nullable=False),
        sa.Column("checkout_session_id", sa.String(length=255), nullable=True),
        sa.Column("visitor", sa.String(length=64), nullable=True),
        sa.Column("dedupe_key", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(
            ["offer_id"], ["offers.id"], name="fk_funnel_events_offer_id_offers", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_funnel_events"),
    )
    op.create_index("ix_funnel_events_at", "funnel_events", ["at"], unique=False)
    op.create_index("ix_funnel_events_dedupe_key", "funnel_events", ["dedupe_key"], unique=True)
    op.create_index(
        "ix_funnel_events_offer_id_step_at",
        "funnel_events",
        ["offer_id", "step", "at"],
        unique=False,
    )
    op.create_table(
        "feedback",
        sa.Column("id", sa.String(length=48), nullable=False),
        sa.Column("order_id", sa.String(length=40), nullable=False),
        sa.Column("offer_id", sa.String(length=40), nullable=False),
        sa.Column("idea_id", sa.String(length=40), nullable=True),
        sa.Column("rating", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name="fk_feedback_order_id_orders", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_feedback"),
    )
    op.create_index("ix_feedback_created_at", "feedback", ["created_at"], unique=False)
    op.create_index(
        "ix_feedback_offer_id_created_at", "feedback", ["offer_id", "created_at"], unique=False
    )
    op.create_index("ix_feedback_order_id", "feedback", ["order_id"], unique=True)
    op.create_table(
        "fulfilments",
        sa.Column("id", sa.String(length=48), nullable=False),
        sa.Column("order_id", sa.String(length=40), nullable=False),
        sa.Column("step", sa.String(length=64), nullable=False),
        sa.Column("provider", sa.String(length=64), nullable=False),
        sa.Column("idempotency_key", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("throttled", sa.Integer(), nullable=False),
        sa.Column("task_id", sa.String(length=40), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("result", JSON_DOCUMENT, nullable=True),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("started_at", TIMESTAMP, nullable=True),
        sa.Column("finished_at", TIMESTAMP, nullable=True),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name="fk_fulfilments_order_id_orders", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_fulfilments"),
    )
    op.create_index(
        "ix_fulfilments_idempotency_key", "fulfilments", ["idempotency_key"], unique=True
    )
    op.create_index(
        "ix_fulfilments_order_id_step", "fulfilments", ["order_id", "step"], unique=True
    )
    op.create_index(
        "ix_fulfilments_provider_created_at",
        "fulfilments",
        ["provider", "created_at"],
        unique=False,
    )
    op.create_index(
        "ix_fulfilments_status_created_at", "fulfilments", ["status", "created_at"], unique=False
    )
    op.add_column("offers", sa.Column("fulfilment_type", sa.String(length=40), nullable=True))
    op.add_column("offers", sa.Column("fulfilment_config", JSON_DOCUMENT, nullable=True))
    op.add_column("offers", sa.Column("fulfilment_sla_minutes", sa.Integer(), nullable=True))
    op.add_column("orders", sa.Column("checkout_session_id", sa.String(length=255), nullable=True))
    op.create_index(
        "ix_orders_checkout_session_id", "orders", ["checkout_session_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_orders_checkout_session_id", table_name="orders")
    op.drop_column("orders", "checkout_session_id")
    op.drop_column("offers", "fulfilment_sla_minutes")
    op.drop_column("offers", "fulfilment_config")
    op.drop_column("offers", "fulfilment_type")
    op.drop_index("ix_fulfilments_status_created_at", table_name="fulfilments")
    op.drop_index("ix_fulfilments_provider_created_at", table_name="fulfilments")
    op.drop_index("ix_fulfilments_order_id_step", table_name="fulfilments")
    op.drop_index("ix_fulfilments_idempotency_key", table_name="fulfilments")
    op.drop_table("fulfilments")
    op.drop_index("ix_feedback_order_id", table_name="feedback")
    op.drop_index("ix_feedback_offer_id_created_at", table_name="feedback")
    op.drop_index("ix_feedback_created_at", table_name="feedback")
    op.drop_table("feedback")
    op.drop_index("ix_funnel_events_offer_id_step_at", table_name="funnel_events")
    op.drop_index("ix_funnel_events_dedupe_key", table_name="funnel_events")
    op.drop_index("ix_funnel_events_at", table_name="funnel_events")
    op.drop_table("funnel_events")
    op.drop_index("ix_checkout_sessions_recovered_from", table_name="checkout_sessions")
    op.drop_index("ix_checkout_sessions_payment_intent_id", table_name="checkout_sessions")
    op.drop_index("ix_checkout_sessions_offer_id_created_at", table_name="checkout_sessions")
    op.drop_index("ix_checkout_sessions_created_at", table_name="checkout_sessions")
    op.drop_table("checkout_sessions")
