"""FSAR reports: audit verdicts and imported reports.

Revision ID: 0009
Revises: 0008
Created: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

TIMESTAMP = sa.DateTime(timezone=True)
JSON_DOCUMENT = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "fsar_reports",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("severity", sa.Integer(), nullable=False),
        sa.Column("block_execution", sa.Boolean(), nullable=False),
        sa.Column("passed", sa.Boolean(), nullable=False),
        sa.Column("origin", sa.String(length=16), nullable=False),
        sa.Column("proposal", sa.Text(), nullable=False),
        sa.Column("risks", JSON_DOCUMENT, nullable=False),
        sa.Column("mitigations", JSON_DOCUMENT, nullable=False),
        sa.Column("findings", JSON_DOCUMENT, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_fsar_reports"),
    )
    op.create_index("ix_fsar_reports_created_at", "fsar_reports", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_fsar_reports_created_at", table_name="fsar_reports")
    op.drop_table("fsar_reports")
