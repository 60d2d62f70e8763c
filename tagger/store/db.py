"""Connecting: which database (``--db``, ``$TAGGER_DB``, else a SQLite file under the data
directory), engine settings per dialect, and the schema migration run on every open.

SQLite runs in WAL mode (readers never block the writer) with full fsync and a busy timeout,
so several gunicorn workers and a CLI can share one file. Write transactions take the write
lock up front (SQLite ``BEGIN IMMEDIATE``, a PostgreSQL advisory lock), so a read-then-append
such as "undo my last decision" cannot interleave with another writer.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

DB_ENV = "TAGGER_DB"
DATA_DIR_ENV = "TAGGER_DATA_DIR"
DB_FILE = "labels.db"
_WRITE = "tagger_write"
_PG_LOCK_KEY = 0x7A66E5  # any constant: serialises the store's writers on one server


class StoreError(Exception):
    """The store cannot be opened or used (bad URL, unreachable server, failed migration)."""


def data_dir() -> Path:
    """``$TAGGER_DATA_DIR``, else ``$XDG_DATA_HOME/tagger``, else ``~/.local/share/tagger``."""
    if os.environ.get(DATA_DIR_ENV):
        return Path(os.environ[DATA_DIR_ENV])
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "tagger"


def database_url(db: str | os.PathLike | None = None) -> str:
    """A SQLAlchemy URL from ``--db`` / ``$TAGGER_DB``: a plain file path becomes SQLite, a
    ``postgresql://`` URL uses psycopg 3."""
    raw = str(db) if db else os.environ.get(DB_ENV) or str(data_dir() / DB_FILE)
    if "://" not in raw:
        return "sqlite:///" + str(Path(raw).expanduser().resolve())
    scheme, _, rest = raw.partition("://")
    if scheme in ("postgresql", "postgres"):
        return "postgresql+psycopg://" + rest
    return raw


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    dbapi_connection.isolation_level = None  # we issue BEGIN ourselves (below)
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _sqlite_begin(connection: Connection) -> None:
    immediate = connection.get_execution_options().get(_WRITE, False)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def make_engine(url: str) -> Engine:
    try:
        parsed = make_url(url)
    except ArgumentError as error:
        raise StoreError(f"not a database URL or path: {url!r} ({error})") from None
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(parsed)
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    if parsed.get_backend_name() == "postgresql":
        return create_engine(parsed, pool_pre_ping=True)
    raise StoreError(f"unsupported database {parsed.get_backend_name()!r}: "
                     "use a SQLite file path, sqlite:///PATH or postgresql://...")


@contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """One atomic write: everything inside commits together or not at all, with the store's
    write lock held from the start."""
    with engine.connect() as connection:
        connection = connection.execution_options(**{_WRITE: True})
        with connection.begin():
            if engine.dialect.name == "postgresql":
                connection.execute(text("SELECT pg_advisory_xact_lock(:key)"),
                                   {"key": _PG_LOCK_KEY})
            yield connection


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest revision (idempotent; safe with concurrent openers
    because it runs under the write lock)."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location",
                           str(resources.files("tagger.store").joinpath("migrations")))
    with write_transaction(engine) as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
