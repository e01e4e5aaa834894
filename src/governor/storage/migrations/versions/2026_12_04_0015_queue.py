"""An index the fulfilment queue reads by: paid orders by status and payment time (the queue is
the paid orders not yet fulfilled, oldest first; without it every page reads every order).

Only an index: no data changes. The downgrade drops it.

Revision ID: 0015
Revises: 0014
Created: 2026-12-04
"""

from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_orders_status_paid_at", "orders", ["status", "paid_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_orders_status_paid_at", table_name="orders")
