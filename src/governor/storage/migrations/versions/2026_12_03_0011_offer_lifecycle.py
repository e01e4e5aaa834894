"""Offer lifecycle: a history row per status change, Stripe references and the creating task.

Every offer that exists already gets one history row, its creation (None → its status, at its
creation time, by `migration`), so that no offer's timeline is empty. The downgrade drops the
history and the new columns; the offers and their statuses stay.

Revision ID: 0011
Revises: 0010
Created: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

TIMESTAMP = sa.DateTime(timezone=True)
STRIPE_ID = 255
COLUMNS = ("stripe_product_id", "stripe_price_id", "stripe_payment_link_id")
BACKFILL_REASON = "recorded when the offer lifecycle was introduced (revision 0011)"


def upgrade() -> None:
    for name in COLUMNS:
        op.add_column("offers", sa.Column(name, sa.String(length=STRIPE_ID), nullable=True))
    op.add_column("offers", sa.Column("created_by_task_id", sa.String(length=40), nullable=True))
    op.create_table(
        "offer_status_changes",
        sa.Column("id", sa.String(length=48), nullable=False),
        sa.Column("offer_id", sa.String(length=40), nullable=False),
        sa.Column("from_status", sa.String(length=16), nullable=True),
        sa.Column("to_status", sa.String(length=16), nullable=False),
        sa.Column("at", TIMESTAMP, nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("task_id", sa.String(length=40), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["offer_id"],
            ["offers.id"],
            name="fk_offer_status_changes_offer_id_offers",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_offer_status_changes"),
    )
    op.create_index("ix_offer_status_changes_offer_id_at", "offer_status_changes",
                    ["offer_id", "at"])  # fmt: skip
    # One creation row per existing offer; its id is the offer's behind `osc_`, so the back-fill
    # is one statement, the same on both databases.
    op.execute(
        sa.text(
            "INSERT INTO offer_status_changes (id, offer_id, from_status, to_status, at, actor, "
            "task_id, reason) SELECT 'osc_' || id, id, NULL, status, created_at, "
            "'migration', NULL, :reason FROM offers"
        ).bindparams(reason=BACKFILL_REASON)
    )


def downgrade() -> None:
    op.drop_index("ix_offer_status_changes_offer_id_at", table_name="offer_status_changes")
    op.drop_table("offer_status_changes")
    # Plain ALTER TABLE … DROP COLUMN (SQLite 3.35+): rebuilding offers would trip the orders'
    # RESTRICT foreign key on SQLite.
    for name in ("created_by_task_id", *reversed(COLUMNS)):
        op.drop_column("offers", name)
