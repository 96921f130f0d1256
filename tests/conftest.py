"""Shared fixtures: `site` is a real HTTP server on 127.0.0.1 serving tests/fixtures (see tests/support/site.py);
`postgres_url` a new database on a real PostgreSQL server the session starts (tests/support/postgres.py)."""

import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.postgres import Postgres, PostgresUnavailable, start_postgres
from tests.support.site import FixtureSite


@pytest.fixture
def site() -> Iterator[FixtureSite]:
    server = FixtureSite().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[Postgres]:
    """One PostgreSQL server for the session (tests/support/postgres.py); each test takes its own database."""
    try:
        with start_postgres() as server:
            yield server
    except PostgresUnavailable as error:
        pytest.fail(f"PostgreSQL is needed for this test: {error}", pytrace=False)


@pytest.fixture
def postgres_url(postgres_server: Postgres, request: pytest.FixtureRequest) -> str:
    """A new, empty database on the session's server: its SQLAlchemy URL."""
    name = "t_" + "".join(c if c.isalnum() else "_" for c in request.node.name.lower())[:50]
    return postgres_server.create_database(f"{name}_{next(_databases)}")


_databases = itertools.count()


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The test runs twice: on a SQLite file, and on a new PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/tracker.db"
    url: str = request.getfixturevalue("postgres_url")
    return url
