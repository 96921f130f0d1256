"""The store's standard-library path for SQLite (tracker/store/fastpath.py) reads the same snapshot as the ORM and
records a quiet cycle exactly as the ORM path does, row for row; cycles that need the domain are left to it."""

import sqlite3
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from tests.support.configs import kb_config
from tests.support.site import FixtureSite
from tracker.cli import app
from tracker.config import clock, load_config
from tracker.cycle import Request, run_cycle
from tracker.listings import listed_by
from tracker.store import fastpath, repo
from tracker.store.db import make_engine, session_scope
from tracker.store.sources import snapshot

QUIET = "2021-10-06T09:00:00Z"
TABLES = ["source", "fetch", "sighting", "build", "event", "event_evidence", "product_state", "outbox"]


def setup(site: FixtureSite, folder: Path) -> Path:
    config = kb_config(site, folder)
    for stage, now in (("01-2021-09-20", "2021-09-20T08:00:00Z"), ("02-2021-10-06", "2021-10-06T08:00:00Z")):
        site.stage(stage)
        assert CliRunner().invoke(app, ["--config", str(config), "--now", now, "poll"]).exit_code == 0
    return config


def whole_rows(config: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every column of every row (SELECT *), but what differs between two runs by the clock alone: the measured
    fetch times, and the fixture site's Last-Modified (the time each folder's setup staged the pages)."""
    db = sqlite3.connect(Path(load_config(str(config)).database.removeprefix("sqlite:///")))
    tables: dict[str, list[tuple[Any, ...]]] = {}
    for table in TABLES:
        cursor = db.execute(f"SELECT * FROM {table}")
        names = [c[0] for c in cursor.description]
        tables[table] = sorted(
            tuple(
                0 if name in ("elapsed_ms", "last_modified") else value for name, value in zip(names, row, strict=True)
            )
            for row in cursor
        )
    return tables


def test_a_quiet_cycle_recorded_by_the_fast_path_equals_the_orm_paths_record(
    site: FixtureSite, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    quick_config, full_config = setup(site, tmp_path / "quick"), setup(site, tmp_path / "full")
    recorded: list[int] = []
    record = fastpath.record_unchanged

    def counting(*args: Any) -> bool:
        recorded.append(1)
        return record(*args)

    monkeypatch.setattr(fastpath, "record_unchanged", counting)
    config = load_config(str(quick_config))
    report = run_cycle(config, lambda: make_engine(config.database), Request(clock(QUIET)))
    assert recorded == [1] and {o.outcome for o in report.outcomes} == {"not_modified"}

    monkeypatch.setattr(fastpath, "sqlite_path", lambda _url: None)  # the ORM path, as on PostgreSQL
    config = load_config(str(full_config))
    run_cycle(config, lambda: make_engine(config.database), Request(clock(QUIET)))
    assert recorded == [1]
    quick, full = whole_rows(quick_config), whole_rows(full_config)
    assert quick == full
    assert [r for r in quick["fetch"] if str(r[2]).startswith("2021-10-06 09:00")]  # the quiet cycle was recorded


def test_the_fast_snapshot_equals_the_orms(site: FixtureSite, tmp_path: Path):
    config = load_config(str(setup(site, tmp_path)))
    path = fastpath.sqlite_path(config.database)
    assert path is not None
    with session_scope(make_engine(config.database)) as session:
        assert fastpath.snapshot(path) == snapshot(session)
    assert len(snapshot(session).sources) > 2 and snapshot(session).notes  # KB sources, their notes, the builds


def test_the_builds_listed_without_sqlalchemy_equal_the_orms(site: FixtureSite, tmp_path: Path):
    config = load_config(str(setup(site, tmp_path)))
    path = fastpath.sqlite_path(config.database)
    assert path is not None
    with session_scope(make_engine(config.database)) as session:
        builds, listing = repo.list_builds(session), listed_by(repo.load_catalog(session))
    read = fastpath.listed_builds(path)
    assert read is not None
    assert read[0] == builds
    assert {k: sorted(v) for k, v in read[1].items()} == {k: sorted(v) for k, v in listing.items()}  # shown sorted
    assert builds and listing  # builds, and the sources listing them
    assert fastpath.listed_builds(tmp_path / "missing.db") is None  # the ORM path creates it


def test_a_changed_page_goes_to_the_full_path_without_being_fetched_twice(site: FixtureSite, tmp_path: Path):
    config = setup(site, tmp_path)
    site.stage("03-2021-10-29")  # U3a appears
    site.reset_log()
    result = CliRunner().invoke(app, ["--config", str(config), "--now", "2021-10-29T08:00:00Z", "poll", "--json"])
    assert result.exit_code == 0
    assert '"kind": "new"' in result.stdout
    kb_requests = [hit for hit in site.requests if hit.path == "/kb/316595.html"]
    assert len(kb_requests) == 1


@pytest.mark.parametrize(
    "reason", ["a vanished row waits for confirmation", "a source is new in the config", "a source left the config"]
)
def test_cycles_that_need_the_domain_are_not_taken_by_the_fast_path(
    site: FixtureSite, tmp_path: Path, reason: str, monkeypatch: pytest.MonkeyPatch
):
    config = setup(site, tmp_path)
    if reason.startswith("a vanished"):
        site.stage("04-2021-11-13")
        CliRunner().invoke(app, ["--config", str(config), "--now", "2021-11-13T08:00:00Z", "poll"])
        site.stage("05-2021-11-18")  # U3b's row is gone once: the next cycle must count it again
        CliRunner().invoke(app, ["--config", str(config), "--now", "2021-11-18T08:00:00Z", "poll"])
    elif reason.endswith("new in the config"):
        extra = (
            f"  - {{id: extra-kb, kind: kb_build_table, url: '{site.url('/kb/316595.html')}', product: esxi,"
            " follow_links: false}\n"
        )
        config.write_text(config.read_text(encoding="utf-8").replace("http: {", extra + "http: {"), encoding="utf-8")
    else:
        text = config.read_text(encoding="utf-8")
        kept = [line for line in text.splitlines(keepends=True) if "vcenter-kb" not in line]
        config.write_text("".join(kept), encoding="utf-8")
    recorded: list[int] = []
    monkeypatch.setattr(fastpath, "record_unchanged", lambda *_a: recorded.append(1) or True)
    loaded = load_config(str(config))
    run_cycle(loaded, lambda: make_engine(loaded.database), Request(clock("2021-11-18T09:00:00Z")))
    assert recorded == []
    if reason.endswith("left the config"):
        shown = CliRunner().invoke(app, ["--config", str(config), "sources", "--json"])
        assert '"active": false' in shown.stdout  # retired by the cycle


@pytest.mark.parametrize("path", ["fast path", "ORM path"])
def test_after_a_304_the_catalog_says_each_listed_build_was_seen_then_without_rewriting_a_sighting(
    site: FixtureSite, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, path: str
):
    config_path = setup(site, tmp_path)
    config = load_config(str(config_path))
    database = Path(config.database.removeprefix("sqlite:///"))
    before = sqlite3.connect(database).execute("SELECT * FROM sighting ORDER BY id").fetchall()
    if path == "ORM path":
        monkeypatch.setattr(fastpath, "sqlite_path", lambda _url: None)  # as on PostgreSQL
    report = run_cycle(config, lambda: make_engine(config.database), Request(clock(QUIET)))
    assert {o.outcome for o in report.outcomes} == {"not_modified"}

    assert sqlite3.connect(database).execute("SELECT * FROM sighting ORDER BY id").fetchall() == before
    with session_scope(make_engine(config.database)) as session:
        catalog = repo.load_catalog(session)
    kb = [s for s in catalog.sightings_of("esxi-kb") if s.present]
    assert kb and {s.last_seen for s in kb} == {clock(QUIET)}  # listed by the page that answered 304


def test_a_lease_left_by_a_process_of_this_host_that_is_gone_does_not_keep_a_quiet_cycle_off_the_fast_path(
    site: FixtureSite, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    import subprocess
    import sys
    from datetime import UTC, datetime, timedelta

    config_path = setup(site, tmp_path)
    config = load_config(str(config_path))
    database = Path(config.database.removeprefix("sqlite:///"))
    script = "from tracker.store.holders import holder_id; print(holder_id())"
    dead = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout.strip()
    until = (datetime.now(UTC) + timedelta(minutes=10)).replace(tzinfo=None).isoformat(sep=" ")
    with sqlite3.connect(database) as db:  # the holder was killed mid-cycle: its lease has not expired
        db.execute("UPDATE lease SET holder = ?, expires_at = ? WHERE name = 'poll'", (dead, until))
    assert fastpath.lease_held(database) is False
    recorded: list[int] = []
    record = fastpath.record_unchanged
    monkeypatch.setattr(fastpath, "record_unchanged", lambda *a: recorded.append(1) or record(*a))
    report = run_cycle(config, lambda: make_engine(config.database), Request(clock(QUIET)))
    assert recorded == [1] and {o.outcome for o in report.outcomes} == {"not_modified"}
