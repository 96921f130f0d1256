"""The web's exposure cache is made again only when the data it reads changes (tracker/store/reads.py)."""

import sqlite3
from pathlib import Path

import pytest

from tests.support.web import story_database, web_config
from tracker.store.db import make_engine, session_scope
from tracker.store.reads import data_version


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    story = story_database(tmp_path_factory.mktemp("story"))
    return web_config(story, tmp_path_factory.mktemp("copy")).parent / "tracker.db"


def version(path: Path) -> tuple[object, ...]:
    engine = make_engine(f"sqlite:///{path}")
    with session_scope(engine) as session:
        found = data_version(session)
    engine.dispose()
    return found


def run(path: Path, sql: str) -> None:
    with sqlite3.connect(path) as db:
        db.execute(sql)


def test_a_quiet_cycle_moving_only_last_seen_and_last_success_keeps_the_version(database: Path):
    before = version(database)
    run(database, "UPDATE sighting SET last_seen = '2030-01-01 00:00:00.000000'")
    run(database, "UPDATE source SET last_success_at = '2030-01-01 00:00:00.000000'")
    assert version(database) == before


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE asset SET updated_at = '2030-01-01 00:00:00.000000' WHERE name = 'esx-dr-01.corp.example'",
        "DELETE FROM asset WHERE name = 'esx-dr-02.corp.example'",
        "INSERT INTO event_evidence (event_id, source_id, url, excerpt, observed_at)"
        " SELECT id, 'x', 'http://x', 'x', observed_at FROM event LIMIT 1",
        "INSERT INTO snooze (target_kind, target, until, reason, fingerprint, created_at)"
        " VALUES ('asset', 'a', '2030-01-01', 'r', '', '2022-01-01')",
        "UPDATE snooze SET ended_at = '2030-01-01 00:00:00.000000'",  # the snooze inserted by the case above
    ],
)
def test_a_change_to_the_inventory_the_catalog_or_the_snoozes_changes_it(database: Path, sql: str):
    before = version(database)
    run(database, sql)
    assert version(database) != before
