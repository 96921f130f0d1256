"""The schema: Alembic's migrations and the SQLModel tables describe the same database.

A fresh database is created from the tables (tracker/store/db.py, one `create_all`), an existing one is brought up
by the migrations; both must end at the same schema, or a database made by one path breaks under the other.
"""

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Column, Engine, MetaData, String, Table, inspect, text
from sqlalchemy.exc import IntegrityError
from sqlmodel import SQLModel

from tests.support.schema import schema_of
from tests.support.together import together
from tracker.store import SCHEMA_HEAD, db, models
from tracker.store.db import current_revision, make_engine, migrate, run_migrations


@pytest.fixture
def migrated(tmp_path: Path) -> Engine:
    engine = make_engine(f"sqlite:///{tmp_path / 'migrated.db'}")
    run_migrations(engine)
    return engine


def test_the_migrations_leave_nothing_for_autogenerate_to_add(migrated: Engine) -> None:
    with migrated.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), SQLModel.metadata)
    assert differences == []


def test_a_fresh_database_has_the_schema_the_migrations_build(migrated: Engine, tmp_path: Path) -> None:
    fresh = make_engine(f"sqlite:///{tmp_path / 'fresh.db'}")
    assert migrate(fresh) is True
    assert current_revision(fresh) == current_revision(migrated) == SCHEMA_HEAD
    assert schema_of(fresh) == schema_of(migrated)


def test_a_database_at_an_older_revision_is_migrated_not_recreated(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    run_migrations(engine, "0001")
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO source (id, kind, url, product, role, configured, active, health, baselined, failures,"
                " rows_seen, created_at) VALUES ('kb', 'kb_build_table', 'http://x/', 'esxi', 'index', 1, 1, 'ok',"
                " 0, 0, 0, '2021-09-01 00:00:00')"
            )
        )
    assert migrate(engine) is True
    assert current_revision(engine) == SCHEMA_HEAD
    with engine.connect() as connection:
        assert connection.execute(text("SELECT id FROM source")).scalars().all() == ["kb"]
    assert migrate(engine) is False  # at the head: nothing to do


def test_the_newest_revision_is_the_one_the_quick_path_expects() -> None:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(Path(models.__file__).parent / "migrations"))
    assert ScriptDirectory.from_config(config).get_heads() == [SCHEMA_HEAD]


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_creation_that_fails_half_way_leaves_nothing_and_the_next_start_creates_it(
    backend: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> None:
    url = f"sqlite:///{tmp_path / 'half.db'}" if backend == "sqlite" else request.getfixturevalue("postgres_url")
    engine = make_engine(url)
    # The stamp fails after every table was created (a NOT NULL column the insert does not fill).
    broken = Table(
        "alembic_version",
        MetaData(),
        Column("version_num", String(32), primary_key=True),
        Column("required", String(10), nullable=False),
    )
    monkeypatch.setattr(db, "_VERSION", broken)
    with pytest.raises(IntegrityError):
        migrate(engine)
    assert inspect(engine).get_table_names() == []  # no table survived the failed creation
    monkeypatch.undo()
    assert migrate(engine) is True
    assert current_revision(engine) == SCHEMA_HEAD


def test_the_migrations_change_the_schema_only() -> None:
    """A fresh database is created from the tables and skips the migrations: a migration that writes data (an
    INSERT, an UPDATE, a bulk insert) would leave fresh databases without it. Such a step must also be done in
    tracker/store/db.py's creation; then list its file here."""
    with_data_steps = {}
    for script in sorted((Path(db.__file__).parent / "migrations" / "versions").glob("*.py")):
        code = script.read_text(encoding="utf-8")
        found = [step for step in ("op.execute", "op.bulk_insert", "insert(", "update(", "text(") if step in code]
        if found:
            with_data_steps[script.name] = found
    assert with_data_steps == {}


def test_a_migration_that_fails_leaves_the_database_as_it_was(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    run_migrations(engine, "0001")
    with engine.begin() as connection:  # in the way of 0004, after 0002 and 0003 would have run
        connection.execute(text("CREATE TABLE advisory (id VARCHAR PRIMARY KEY)"))
    before = schema_of(engine)
    with pytest.raises(Exception, match="advisory"):
        migrate(engine)
    assert current_revision(engine) == "0001"
    assert schema_of(engine) == before  # 0002's and 0003's tables were rolled back with the rest


@pytest.mark.parametrize("start", ["empty", "0004"])
def test_processes_starting_together_bring_the_schema_up_once(database: str, start: str) -> None:
    """Two replicas restarting after an upgrade, or the service and a cron `tracker poll`: one migrates, the others
    wait for it and find the schema done."""
    if start != "empty":
        run_migrations(make_engine(database), start)

    def starting() -> str | None:
        engine = make_engine(database)  # its own engine, as another process has
        migrate(engine)
        return current_revision(engine)

    assert together([starting, starting, starting]) == [SCHEMA_HEAD] * 3
