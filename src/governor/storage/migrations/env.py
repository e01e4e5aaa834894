"""Alembic environment: runs migrations on the connection that storage.migrate hands over."""

from alembic import context

from governor.models import Base

connection = context.config.attributes["connection"]

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=True,  # autogenerate writes batch operations, which SQLite needs
    compare_type=True,
    # Each migration commits on its own, so a failure names the last good revision.
    transaction_per_migration=True,
    # Governor's SQLite engine issues BEGIN itself (storage/db.py), so DDL is transactional
    # there too and a failed migration rolls back instead of stopping halfway.
    transactional_ddl=True,
)

with context.begin_transaction():
    context.run_migrations()
