"""PostgreSQL: the tracker accepts any SQLAlchemy URL, and PostgreSQL is the one a team grows into. The schema, the
story and the clock behave there exactly as on the SQLite default, on a server whose time zone is not UTC."""

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, text
from sqlmodel import SQLModel

from tests.support.cli import Cli
from tests.support.configs import kb_config, replay
from tests.support.postgres import SERVER_ZONE, Postgres
from tests.support.schema import schema_of
from tests.support.site import FixtureSite
from tests.test_story import STAGES
from tracker.store import SCHEMA_HEAD, models  # noqa: F401  (models: registers the tables)
from tracker.store.db import current_revision, make_engine, migrate, run_migrations


def test_a_fresh_postgres_database_gets_the_schema_the_migrations_build(postgres_server: Postgres) -> None:
    fresh = make_engine(postgres_server.create_database("fresh"))
    migrated = make_engine(postgres_server.create_database("migrated"))
    assert migrate(fresh) is True
    run_migrations(migrated)
    assert current_revision(fresh) == current_revision(migrated) == SCHEMA_HEAD
    assert schema_of(fresh) == schema_of(migrated)
    with migrated.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), SQLModel.metadata) == []


def _replay(site: FixtureSite, folder: Path, database: str) -> tuple[Any, Any, Any]:
    cli = replay(site, folder, STAGES, database)
    last = STAGES[-1][1]
    return cli.json("builds", now=last), cli.json("events", now=last), cli.json("sources", now=last)


def test_the_story_on_postgres_equals_the_story_on_sqlite(site: FixtureSite, tmp_path: Path, postgres_url: str) -> None:
    on_sqlite = _replay(site, tmp_path / "sqlite", f"sqlite:///{tmp_path / 'tracker.db'}")
    on_postgres = _replay(site, tmp_path / "postgres", postgres_url)
    assert on_postgres == on_sqlite

    builds, events, _ = on_postgres
    u3c = next(b for b in builds if b["build"] == 19193900)
    assert u3c["status"] == "available"
    reissued = [e for e in events if e["kind"] == "reissued" and e["build"] == 19193900]
    assert len(reissued) == 1 and sorted(reissued[0]["replaces"]) == [18644231, 18825058, 18905247]


def test_times_are_the_same_instants_whatever_the_servers_time_zone(
    site: FixtureSite, tmp_path: Path, postgres_url: str
) -> None:
    engine: Engine = make_engine(postgres_url)
    cli = Cli(kb_config(site, tmp_path, postgres_url))
    site.stage(STAGES[0][0])
    cli("poll", now="2021-09-20T08:00:00Z")
    with engine.connect() as connection:
        assert connection.execute(text("SHOW timezone")).scalar() == SERVER_ZONE  # nothing below is luck
        stored = connection.execute(text('SELECT started_at FROM "fetch" ORDER BY id LIMIT 1')).scalar()
    assert stored == datetime(2021, 9, 20, 8, tzinfo=UTC)
    sources = cli.json("sources", now="2021-09-20T09:00:00Z")
    assert {s["last_success"] for s in sources} == {"2021-09-20T08:00:00Z"}
