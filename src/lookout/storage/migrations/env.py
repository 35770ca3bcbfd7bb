"""Alembic environment: runs against the connection Lookout hands over in ``config.attributes``."""

from __future__ import annotations

from alembic import context

from lookout.storage.tables import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("Lookout runs migrations through lookout.storage.database.migrate()")

context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
