"""A customer's postal address, which shipping fulfilments need (without one the step waits for
the customer: action required).

Only a nullable column: existing rows need no back-fill. The downgrade drops it.

Revision ID: 0014
Revises: 0013
Created: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

JSON_DOCUMENT = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.add_column("customers", sa.Column("address", JSON_DOCUMENT, nullable=True))


def downgrade() -> None:
    op.drop_column("customers", "address")
