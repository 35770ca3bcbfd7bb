"""Persistence: SQLAlchemy tables, Alembic migrations, the journal, snapshots and metric series."""
