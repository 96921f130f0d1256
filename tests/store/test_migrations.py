"""The schema: Alembic's migrations and the SQLModel tables describe the same database.

A fresh database is created from the tables (tracker/store/db.py, one `create_all`), an existing one is brought up
by the migrations; both must end at the same schema, or a database made by one path breaks under the other.
"""

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, text
from sqlmodel import SQLModel

from tests.support.schema import schema_of
from tracker.store import SCHEMA_HEAD, models
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
