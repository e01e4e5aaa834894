"""Record which AI model a task used: execution_tasks.ai_model.

Production ran every task against a database without this column and all of them failed;
the schema guard exists so that this can no longer happen silently.

Revision ID: 0002
Revises: 0001
Created: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("execution_tasks") as batch:
        batch.add_column(sa.Column("ai_model", sa.String(100), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("execution_tasks") as batch:
        batch.drop_column("ai_model")
