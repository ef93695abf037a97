"""Alembic environment: runs on the connection the caller hands over (see store/migrate.py)."""

from __future__ import annotations

from alembic import context

import store.migrations.env_tables  # noqa: F401  (every feature's tables join the metadata)
from store.tables import Base

target_metadata = Base.metadata


def run_migrations_online() -> None:
    """Migrate using `config.attributes["connection"]`, a sync connection from run_sync."""
    connection = context.config.attributes["connection"]
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("offline migrations are not supported; run `oms migrate`")
run_migrations_online()
