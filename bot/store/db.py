"""Engines, sessions and schema migrations for SQLite and PostgreSQL."""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import URL, Connection, Engine, create_engine, event, make_url, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from bot.errors import DatabaseTooNew, SettingError

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
SQLITE_BUSY_TIMEOUT_MS = 30_000
MIGRATION_LOCK_ID = 0x524F4C4C  # "ROLL": the PostgreSQL advisory lock every migrating process queues on
MIGRATION_ATTEMPTS = 5


def make_engine(url: str | URL) -> Engine:
    """An engine for `url` (SQLite or PostgreSQL), tuned for several processes sharing the database."""
    url = _normalise(make_url(url))
    if url.get_backend_name() == "sqlite":
        return _sqlite_engine(url)
    if url.get_backend_name() == "postgresql":
        return create_engine(url, pool_pre_ping=True)
    raise SettingError(f"DATABASE_URL must be a sqlite:// or postgresql:// URL, not {url.drivername}://...")


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions whose objects stay readable after commit, so repositories can return them."""
    return sessionmaker(engine, expire_on_commit=False)


def migrate(target: Engine | str | URL) -> None:
    """Upgrade the schema to the newest revision; safe to run from several processes at once."""
    engine = target if isinstance(target, Engine) else make_engine(target)
    try:
        for attempt in range(1, MIGRATION_ATTEMPTS + 1):
            try:
                _upgrade(engine)
                return
            except OperationalError as exc:
                if not _sqlite_locked(exc) or attempt == MIGRATION_ATTEMPTS:
                    raise
                time.sleep(0.2 * attempt)
    finally:
        if engine is not target:
            engine.dispose()


def alembic_config(connection: Connection | None = None) -> Config:
    """Alembic configuration built in code: no alembic.ini needed at runtime."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def lock_for_migration(connection: Connection) -> None:
    """Serialise migrations: later processes wait, then find the schema already current."""
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": MIGRATION_LOCK_ID})
    elif connection.dialect.name == "sqlite":
        # pysqlite would run the DDL outside any transaction; take SQLite's write lock up front instead.
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def _upgrade(engine: Engine) -> None:
    with engine.connect() as connection:
        lock_for_migration(connection)
        config = alembic_config(connection)
        try:
            command.upgrade(config, "head")
        except CommandError:
            _refuse_unknown_revisions(connection, config)
            raise
        connection.commit()


def _refuse_unknown_revisions(connection: Connection, config: Config) -> None:
    """Alembic fails on a revision it cannot find: name the likely cause, a newer Rollout, rather than its words.
    Looked at only after a failure, so a normal start reads the version table once."""
    script = ScriptDirectory.from_config(config)
    known = {revision.revision for revision in script.walk_revisions()}
    unknown = [r for r in MigrationContext.configure(connection).get_current_heads() if r not in known]
    if unknown:
        database = connection.engine.url.render_as_string(hide_password=True)
        raise DatabaseTooNew(database, sorted(unknown), script.get_current_head())


def _sqlite_locked(exc: OperationalError) -> bool:
    """SQLite gives up with "database is locked" once busy_timeout runs out; PostgreSQL just waits."""
    return "database is locked" in str(exc.orig)


def _normalise(url: URL) -> URL:
    if url.drivername in ("postgres", "postgresql"):  # "postgres://" as some hosts hand it out
        return url.set(drivername="postgresql+psycopg")
    return url


def _sqlite_engine(url: URL) -> Engine:
    if url.database and url.database != ":memory:" and not url.database.startswith("file:"):
        Path(url.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url)
    event.listen(engine, "connect", _configure_sqlite)
    return engine


def _configure_sqlite(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")  # first: the next pragma may wait
    cursor.execute("PRAGMA journal_mode = WAL")
    # WAL's usual setting: a commit is durable against a process crash, and ~4 ms cheaper than FULL's fsync each.
    cursor.execute("PRAGMA synchronous = NORMAL")
    cursor.execute("PRAGMA foreign_keys = ON")
    cursor.close()
