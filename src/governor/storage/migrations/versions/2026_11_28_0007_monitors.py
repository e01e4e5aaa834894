"""Monitors: each watched series' detector state, and the anomalies and drifts they found.

Revision ID: 0007
Revises: 0006
Created: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

TIMESTAMP = sa.DateTime(timezone=True)
JSON_DOCUMENT = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "monitor_states",
        sa.Column("series", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("detector", sa.String(length=64), nullable=False),
        sa.Column("state", JSON_DOCUMENT, nullable=False),
        sa.Column("last_bucket", TIMESTAMP, nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("series", name="pk_monitor_states"),
    )
    op.create_table(
        "monitor_findings",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("series", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("at", TIMESTAMP, nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("expected_low", sa.Float(), nullable=True),
        sa.Column("expected_high", sa.Float(), nullable=True),
        sa.Column("explanation", sa.Text(), nullable=False),
        sa.Column("link", sa.Text(), nullable=True),
        sa.Column("alert_id", sa.String(length=40), nullable=True),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_monitor_findings"),
    )
    op.create_index("ix_monitor_findings_series_kind_at", "monitor_findings",
                    ["series", "kind", "at"], unique=True)  # fmt: skip
    op.create_index("ix_monitor_findings_at", "monitor_findings", ["at"])


def downgrade() -> None:
    op.drop_index("ix_monitor_findings_at", table_name="monitor_findings")
    op.drop_index("ix_monitor_findings_series_kind_at", table_name="monitor_findings")
    op.drop_table("monitor_findings")
    op.drop_table("monitor_states")
