"""Hourly rollups under the daily ones, triggers that mark changed hours instead of days, and
a version per source that each refresh bumps.

Revision ID: 0006
Revises: 0005
Created: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op

from governor.storage.migrations.rollup_sql import (
    create_triggers,
    drop_triggers,
    postgres,
    rebuild_hourly_and_daily,
    truncated,
)

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

TIMESTAMP = sa.DateTime(timezone=True)


def _money_columns() -> list[sa.Column]:
    return [
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("offer_id", sa.String(length=255), nullable=False),
        sa.Column("idea_id", sa.String(length=255), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("entries", sa.BigInteger(), nullable=False),
    ]


def _task_columns() -> list[sa.Column]:
    return [
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("type", sa.String(length=100), nullable=False),
        sa.Column("ai_model", sa.String(length=100), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("offer_id", sa.String(length=40), nullable=False),
        sa.Column("idea_id", sa.String(length=40), nullable=False),
        sa.Column("tasks", sa.BigInteger(), nullable=False),
        sa.Column("duration_ms", sa.BigInteger(), nullable=False),
        sa.Column("cost_micros", sa.BigInteger(), nullable=False),
        sa.Column("tokens_in", sa.BigInteger(), nullable=False),
        sa.Column("tokens_out", sa.BigInteger(), nullable=False),
    ]


def upgrade() -> None:
    drop_triggers()
    op.drop_index("ix_rollup_changes_source_day", table_name="rollup_changes")
    op.execute("DELETE FROM rollup_changes")  # every rollup is rebuilt below
    op.execute("ALTER TABLE rollup_changes RENAME COLUMN day TO hour")
    op.create_index("ix_rollup_changes_source_hour", "rollup_changes", ["source", "hour"])
    op.create_table(
        "ledger_hourly",
        sa.Column("hour", TIMESTAMP, nullable=False),
        *_money_columns(),
        sa.PrimaryKeyConstraint(
            "hour", "currency", "kind", "status", "offer_id", "idea_id", name="pk_ledger_hourly"
        ),
    )
    op.create_table(
        "task_hourly",
        sa.Column("hour", TIMESTAMP, nullable=False),
        *_task_columns(),
        sa.PrimaryKeyConstraint("hour", "kind", "type", "ai_model", "status", "offer_id",
                                "idea_id", name="pk_task_hourly"),
    )  # fmt: skip
    op.create_table(
        "rollup_versions",
        sa.Column("source", sa.String(length=8), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("source", name="pk_rollup_versions"),
    )
    token = "(random() * 4e18)::bigint" if postgres() else "abs(random() / 2)"
    op.execute(f"INSERT INTO rollup_versions (source, version) VALUES ('ledger', {token}), "
               f"('tasks', {token})")  # fmt: skip
    rebuild_hourly_and_daily()
    create_triggers("hour")


def downgrade() -> None:
    drop_triggers()
    op.drop_table("rollup_versions")
    op.drop_table("task_hourly")
    op.drop_table("ledger_hourly")
    op.drop_index("ix_rollup_changes_source_hour", table_name="rollup_changes")
    # A pending hour is a pending day for 0005's readers.
    op.execute(f"UPDATE rollup_changes SET hour = {truncated('hour', 'day')}")
    op.execute("ALTER TABLE rollup_changes RENAME COLUMN hour TO day")
    op.create_index("ix_rollup_changes_source_day", "rollup_changes", ["source", "day"])
    create_triggers("day")
