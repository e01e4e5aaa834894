"""The task engine: scheduling columns, AI usage detail, spans and the gate's history.

Revision ID: 0003
Revises: 0002
Created: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

JSON_DOCUMENT = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("execution_tasks") as batch:
        batch.add_column(sa.Column("traceback", sa.Text(), nullable=True))
        batch.add_column(sa.Column("not_before", TIMESTAMP, nullable=True))
        batch.add_column(sa.Column("waiting_on", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("dependents", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("timeout_s", sa.Float(), nullable=True))
        batch.add_column(
            sa.Column("cancel_requested", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.add_column(
            sa.Column("tokens_cached", sa.BigInteger(), nullable=False, server_default="0")
        )
        batch.add_column(sa.Column("price_version", sa.String(40), nullable=True))
        # The claim's two scans: ready tasks oldest first, and leases that ran out.
        batch.create_index(
            "ix_execution_tasks_status_waiting_on_created_at",
            ["status", "waiting_on", "created_at"],
        )
        batch.create_index(
            "ix_execution_tasks_status_lease_expires_at", ["status", "lease_expires_at"]
        )
    op.create_table(
        "task_spans",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("task_id", sa.String(40), nullable=False),
        sa.Column("trace_id", sa.String(32), nullable=False),
        sa.Column("span_id", sa.String(16), nullable=False),
        sa.Column("parent_span_id", sa.String(16), nullable=True),
        sa.Column("name", sa.String(300), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("started_at", TIMESTAMP, nullable=False),
        sa.Column("duration_us", sa.BigInteger(), nullable=False),
        sa.Column("attributes", JSON_DOCUMENT, nullable=True),
        sa.ForeignKeyConstraint(
            ["task_id"],
            ["execution_tasks.id"],
            name="fk_task_spans_task_id_execution_tasks",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_task_spans"),
    )
    op.create_index("ix_task_spans_task_id", "task_spans", ["task_id"])
    op.create_index("ix_task_spans_started_at", "task_spans", ["started_at"])
    op.create_table(
        "gate_events",
        sa.Column("id", sa.String(40), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("report_id", sa.String(64), nullable=True),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_gate_events"),
    )
    op.create_index("ix_gate_events_at", "gate_events", ["at"])


def downgrade() -> None:
    op.drop_index("ix_gate_events_at", table_name="gate_events")
    op.drop_table("gate_events")
    op.drop_index("ix_task_spans_started_at", table_name="task_spans")
    op.drop_index("ix_task_spans_task_id", table_name="task_spans")
    op.drop_table("task_spans")
    with op.batch_alter_table("execution_tasks") as batch:
        batch.drop_index("ix_execution_tasks_status_lease_expires_at")
        batch.drop_index("ix_execution_tasks_status_waiting_on_created_at")
        for column in (
            "price_version", "tokens_cached", "cancel_requested", "timeout_s", "dependents",
            "waiting_on", "not_before", "traceback",
        ):  # fmt: skip
            batch.drop_column(column)
