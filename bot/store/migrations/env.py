"""Alembic environment: runs in our process (`bot.store.db.migrate`) or from the alembic CLI."""
from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from bot.features import metadata
from bot.store.db import lock_for_migration, make_engine


def run_on(connection: Connection) -> None:
    """Apply the pending revisions on `connection`, inside the caller's transaction if it has one."""
    context.configure(
        connection=connection,
        target_metadata=metadata(),
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite can only ALTER by copying tables
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def database_url() -> str:
    """From the CLI: `-x url=...`, else sqlalchemy.url in alembic.ini, else the app's settings."""
    config = context.config
    url = context.get_x_argument(as_dictionary=True).get("url") or config.get_main_option("sqlalchemy.url")
    if url:
        return url
    from bot.settings import Settings  # the CLI is an edge: read settings here, never in the app's store

    return Settings().resolved_database_url


def run_offline() -> None:
    """`alembic upgrade head --sql`: print the SQL instead of running it."""
    context.configure(url=database_url(), target_metadata=metadata(), literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    """Use the connection `migrate` handed over, or open one from the CLI's URL and lock as `migrate` does."""
    connection = context.config.attributes.get("connection")
    if connection is not None:
        run_on(connection)
        return
    engine = make_engine(database_url())
    try:
        with engine.connect() as connection:
            lock_for_migration(connection)
            run_on(connection)
            connection.commit()
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
