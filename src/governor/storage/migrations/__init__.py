"""Alembic's migration environment and Governor's one migration stream (versions/)."""
