"""The payment intent of a ledger entry (a charge's `payment_intent`), so a charge that names no
order in its metadata reaches the order of the checkout session that paid through that intent,
whichever of the two arrives first; and an index on customers' Stripe ids, by which a checkout
finds its buyer.

A nullable column and two indexes: existing rows need no back-fill (a later event or `stripe
sync` fills the column). The downgrade drops them.

Revision ID: 0013
Revises: 0012
Created: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "ledger_entries", sa.Column("payment_intent_id", sa.String(length=255), nullable=True)
    )
    op.create_index(
        "ix_ledger_entries_payment_intent_id", "ledger_entries", ["payment_intent_id"], unique=False
    )
    op.create_index(
        "ix_customers_stripe_customer_id", "customers", ["stripe_customer_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_customers_stripe_customer_id", table_name="customers")
    op.drop_index("ix_ledger_entries_payment_intent_id", table_name="ledger_entries")
    op.drop_column("ledger_entries", "payment_intent_id")
