"""The database: engine, sessions, and migrations to the newest schema (Alembic, run in-process).

Start-up matters (a poll of unchanged pages should cost little): the schema revision is read with one query and
Alembic is imported only when the database is behind. An empty database is created from the tables in one
`create_all` and stamped with the newest revision, as Alembic's cookbook advises ("building an up to date database
from scratch"): running every migration from the first costs more than a first poll's parsing.
tests/store/test_migrations.py keeps both paths at the same schema.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import (
    Column,
    Connection,
    Engine,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    create_engine,
    event,
    inspect,
    text,
)
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError, ProgrammingError
from sqlmodel import Session, SQLModel

from tracker.store import SCHEMA_HEAD as HEAD
from tracker.store import models  # noqa: F401  (registers the tables create_all makes)

_MIGRATIONS = Path(__file__).parent / "migrations"


def make_engine(url: str) -> Engine:
    """An engine for any SQLAlchemy URL; a SQLite file's folder is created, and SQLite gets WAL and a busy wait."""
    if url.startswith("sqlite:///") and not url.startswith("sqlite:///:memory:"):
        Path(url.removeprefix("sqlite:///")).expanduser().parent.mkdir(parents=True, exist_ok=True)
    # A server's connection may die under the pool (a database restart): checked out, it is pinged and replaced
    # rather than failing the first query after the database came back.
    engine = create_engine(url, pool_pre_ping=not url.startswith("sqlite"))
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_connection: object, _record: object) -> None:
    cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")  # safe with WAL: a crash loses no committed transaction's integrity
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def unreachable(error: BaseException) -> bool:
    """A database error that says the server cannot be reached or the connection broke (not a bad query)."""

    if isinstance(error, OperationalError | InterfaceError):
        return True
    return isinstance(error, DBAPIError) and bool(error.connection_invalidated)


def current_revision(engine: Engine) -> str | None:
    try:
        with engine.connect() as conn:
            return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except (OperationalError, ProgrammingError):
        return None


def migrate(engine: Engine) -> bool:
    """Bring the schema to the newest revision. Returns True when something was applied."""
    if current_revision(engine) == HEAD:
        return False
    if not _create_if_empty(engine):
        run_migrations(engine)
    return True


# Alembic's own table, as Alembic creates it.
_VERSION = Table(
    "alembic_version",
    MetaData(),
    Column("version_num", String(32), nullable=False),
    PrimaryKeyConstraint("version_num", name="alembic_version_pkc"),
)
_SCHEMA_LOCK = 0x74726B72  # PostgreSQL advisory lock key ("trkr"): one process changes the schema at a time


def _create_if_empty(engine: Engine) -> bool:
    """An empty database gets every table at once, stamped with the newest revision, in one transaction; False
    when the database is not empty (it migrates instead)."""
    with ddl_transaction(engine) as connection:
        return _create_tables(connection)


@contextmanager
def ddl_transaction(engine: Engine) -> Iterator[Connection]:
    """One transaction that schema changes join too, one process at a time: a second process starting at the same
    moment waits, then finds the schema done. On PostgreSQL an advisory lock; on SQLite, whose driver commits each
    CREATE, DROP or ALTER by itself, a transaction begun by hand (BEGIN IMMEDIATE). Foreign keys are checked at the
    end there, not per statement, so a migration may rebuild a referenced table (Alembic's batch mode)."""
    if engine.dialect.name != "sqlite":
        with engine.begin() as connection:
            if engine.dialect.name == "postgresql":
                connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _SCHEMA_LOCK})
            yield connection
        return
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.exec_driver_sql("PRAGMA foreign_keys=OFF")  # a no-op inside a transaction: before BEGIN
        connection.exec_driver_sql("BEGIN IMMEDIATE")
        try:
            yield connection
            broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
            if broken:
                raise RuntimeError(f"the schema change leaves rows whose foreign keys point nowhere: {broken[:5]}")
        except BaseException:
            if connection.connection.dbapi_connection.in_transaction:  # type: ignore[union-attr]
                connection.exec_driver_sql("ROLLBACK")
            raise
        else:
            connection.exec_driver_sql("COMMIT")
        finally:
            connection.exec_driver_sql("PRAGMA foreign_keys=ON")


def _create_tables(connection: Connection) -> bool:
    if inspect(connection).get_table_names():
        return False
    SQLModel.metadata.create_all(connection)
    _VERSION.create(connection)
    connection.execute(_VERSION.insert().values(version_num=HEAD))
    return True


def run_migrations(engine: Engine, target: str = "head") -> None:
    """Alembic's upgrade to `target`, on this engine, in one transaction."""
    # lazy: Alembic (0.08 s), loaded only when the database is behind the newest schema
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    config.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False))
    with ddl_transaction(engine) as connection:  # all of it or nothing: no half-migrated database after a crash
        config.attributes["connection"] = connection
        command.upgrade(config, target)


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """One transaction: committed when the block ends, rolled back on any error."""
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
