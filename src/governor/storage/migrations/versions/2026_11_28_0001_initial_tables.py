"""The task engine's first tables: execution_tasks and task_dependencies.

Revision ID: 0001
Revises:
Created: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

JSON_DOCUMENT = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "execution_tasks",
        sa.Column("id", sa.String(40), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("type", sa.String(100), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("input", JSON_DOCUMENT, nullable=True),
        sa.Column("output", JSON_DOCUMENT, nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("max_attempts", sa.Integer(), nullable=False),
        sa.Column("idempotency_key", sa.String(200), nullable=True),
        sa.Column("lease_owner", sa.String(100), nullable=True),
        sa.Column("lease_expires_at", TIMESTAMP, nullable=True),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("started_at", TIMESTAMP, nullable=True),
        sa.Column("finished_at", TIMESTAMP, nullable=True),
        sa.Column("duration_ms", sa.BigInteger(), nullable=True),
        sa.Column("tokens_in", sa.BigInteger(), nullable=False),
        sa.Column("tokens_out", sa.BigInteger(), nullable=False),
        sa.Column("cost_micros", sa.BigInteger(), nullable=True),
        sa.Column("idea_id", sa.String(40), nullable=True),
        sa.Column("offer_id", sa.String(40), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_execution_tasks"),
    )
    op.create_index(
        "ix_execution_tasks_status_created_at", "execution_tasks", ["status", "created_at"]
    )
    op.create_index("ix_execution_tasks_type_created_at", "execution_tasks", ["type", "created_at"])
    op.create_index(
        "ix_execution_tasks_idempotency_key", "execution_tasks", ["idempotency_key"], unique=True
    )
    op.create_table(
        "task_dependencies",
        sa.Column("task_id", sa.String(40), nullable=False),
        sa.Column("depends_on_id", sa.String(40), nullable=False),
        sa.ForeignKeyConstraint(
            ["task_id"],
            ["execution_tasks.id"],
            name="fk_task_dependencies_task_id_execution_tasks",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["depends_on_id"],
            ["execution_tasks.id"],
            name="fk_task_dependencies_depends_on_id_execution_tasks",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("task_id", "depends_on_id", name="pk_task_dependencies"),
    )
    op.create_index("ix_task_dependencies_depends_on_id", "task_dependencies", ["depends_on_id"])


def downgrade() -> None:
    op.drop_index("ix_task_dependencies_depends_on_id", table_name="task_dependencies")
    op.drop_table("task_dependencies")
    op.drop_index("ix_execution_tasks_idempotency_key", table_name="execution_tasks")
    op.drop_index("ix_execution_tasks_type_created_at", table_name="execution_tasks")
    op.drop_index("ix_execution_tasks_status_created_at", table_name="execution_tasks")
    op.drop_table("execution_tasks")
