"""One poll cycle at a time, across processes: two cycles at once would both announce the same new build (each
reads the catalog before the other writes). The second waits for the first (the `poll` lease), a `tracker poll`
beside a running cycle says so, and the lease of a process that died expires."""

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from tests.support.configs import kb_config
from tests.support.site import FixtureSite
from tests.support.together import together
from tracker.cli import app
from tracker.config import Config, clock, load_config
from tracker.cycle import Hooks, PollReport, Request, run_cycle
from tracker.cycle import full as cycle_engine
from tracker.cycle.fetch import FetchStage
from tracker.store import leases
from tracker.store.db import make_engine, migrate

BASELINE = [("01-2021-09-20", "2021-09-20T08:00:00Z"), ("02-2021-10-06", "2021-10-06T08:00:00Z")]
U3A_DAY = ("03-2021-10-29", "2021-10-29T08:00:00Z")  # ESXi 7.0 U3a and vCenter 7.0 U3a appear
OTHER = "vc-admin-01:4242:0badc0de"


def _setup(site: FixtureSite, folder: Path, database: str) -> Path:
    config = kb_config(site, folder, database)
    for stage, now in BASELINE:
        site.stage(stage)
        assert CliRunner().invoke(app, ["--config", str(config), "--now", now, "poll"]).exit_code == 0
    return config


def _poll(config: Config, engine: Any, now: str, wait: float = 0) -> PollReport:
    return run_cycle(config, lambda: engine, Request(clock(now)), Hooks(wait=wait))


def _new_builds(database: str) -> list[int]:
    from sqlalchemy import text

    with make_engine(database).connect() as connection:
        return sorted(connection.execute(text("SELECT build FROM event WHERE kind = 'new'")).scalars())


def test_two_cycles_at_once_run_one_after_the_other_and_announce_each_build_once(
    database: str, site: FixtureSite, tmp_path: Path
) -> None:
    config = load_config(str(_setup(site, tmp_path, database)))
    site.stage(U3A_DAY[0])

    def cycle() -> PollReport:
        engine = make_engine(config.database)  # its own engine, as another process has
        return _poll(config, engine, U3A_DAY[1], wait=60)

    reports = together([cycle, cycle])
    assert all(r.blocked_by is None for r in reports)  # the second waited, then ran
    assert sorted(len(r.events) for r in reports) == [0, 2]  # the second found nothing new left to say
    assert _new_builds(database).count(18825058) == 1  # ESXi 7.0 U3a, announced once


def test_tracker_poll_beside_a_running_cycle_waits_then_says_so(site: FixtureSite, tmp_path: Path) -> None:
    config = _setup(site, tmp_path, f"sqlite:///{tmp_path}/tracker.db")
    engine = make_engine(load_config(str(config)).database)
    assert leases.try_acquire(engine, "poll", OTHER, timedelta(minutes=15)) is None  # the service's cycle
    fetches = _count(tmp_path, "fetch")
    site.reset_log()
    result = CliRunner().invoke(app, ["--config", str(config), "--now", "2021-10-07T08:00:00Z", "poll", "--wait", "1"])

    assert result.exit_code == 1
    assert "waiting for another poll cycle to finish (held by vc-admin-01:4242:0badc0de, since" in result.stderr
    assert "another poll cycle is still running (held by vc-admin-01:4242:0badc0de" in result.stderr
    assert _count(tmp_path, "fetch") == fetches  # nothing polled, not even by the quiet-cycle path,
    assert site.requests == []  # and nothing fetched
    shown = CliRunner().invoke(app, ["--config", str(config), "--now", "2021-10-07T08:00:00Z", "sources"])
    assert "a poll cycle is running now (held by vc-admin-01:4242:0badc0de, since" in shown.stdout

    leases.release(engine, "poll", OTHER)
    result = CliRunner().invoke(app, ["--config", str(config), "--now", "2021-10-07T08:00:00Z", "poll"])
    assert result.exit_code == 0, result.output
    assert _count(tmp_path, "fetch") > fetches
    shown = CliRunner().invoke(app, ["--config", str(config), "--now", "2021-10-07T08:00:00Z", "sources"])
    assert "poll cycle is running" not in shown.stdout


def test_the_lease_of_a_process_that_died_expires(site: FixtureSite, tmp_path: Path) -> None:
    config = _setup(site, tmp_path, f"sqlite:///{tmp_path}/tracker.db")
    engine = make_engine(load_config(str(config)).database)
    an_hour_ago = datetime.now(UTC) - timedelta(hours=1)
    leases.try_acquire(engine, "poll", OTHER, timedelta(minutes=15), now=lambda: an_hour_ago)  # ... then it died
    site.stage(U3A_DAY[0])
    result = CliRunner().invoke(app, ["--config", str(config), "--now", U3A_DAY[1], "poll", "--json"])
    assert result.exit_code == 0, result.output
    assert '"kind": "new"' in result.stdout
    assert _lease(tmp_path) == (None, None)  # and the cycle freed it at its end


def test_a_lease_is_taken_again_by_its_holder_and_refused_to_others(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path}/tracker.db")
    migrate(engine)
    ttl = timedelta(minutes=15)
    assert leases.try_acquire(engine, "poll", "a:1:x", ttl) is None
    assert leases.try_acquire(engine, "poll", "a:1:x", ttl) is None  # re-entrant for its holder
    held = leases.try_acquire(engine, "poll", "b:2:y", ttl)
    assert held is not None and held.holder == "a:1:x"
    assert leases.renew(engine, "poll", "a:1:x", ttl) and not leases.renew(engine, "poll", "b:2:y", ttl)
    leases.release(engine, "poll", "b:2:y")  # not its lease: nothing happens
    assert leases.try_acquire(engine, "poll", "b:2:y", ttl) is not None
    leases.release(engine, "poll", "a:1:x")
    assert leases.try_acquire(engine, "poll", "b:2:y", ttl) is None


def _count(folder: Path, table: str) -> int:
    with sqlite3.connect(folder / "tracker.db") as db:
        count: int = db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
        return count


def _lease(folder: Path) -> Any:
    with sqlite3.connect(folder / "tracker.db") as db:
        return db.execute("SELECT holder, expires_at FROM lease WHERE name = 'poll'").fetchone()


def test_a_cycle_begun_elsewhere_while_the_quiet_path_fetched_keeps_it_from_recording(
    site: FixtureSite, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config_file = _setup(site, tmp_path, f"sqlite:///{tmp_path}/tracker.db")
    config = load_config(str(config_file))
    engine = make_engine(config.database)
    fetch = FetchStage.fetch

    def fetch_while_another_cycle_starts(stage: FetchStage, pages: Any) -> Any:
        answers = fetch(stage, pages)
        assert leases.try_acquire(engine, "poll", OTHER, timedelta(minutes=15)) is None
        return answers

    monkeypatch.setattr(FetchStage, "fetch", fetch_while_another_cycle_starts)
    fetches = _count(tmp_path, "fetch")
    report = _poll(config, engine, "2021-10-07T08:00:00Z")
    assert report.blocked_by is not None and report.blocked_by.holder == OTHER  # every page answered 304, but
    assert _count(tmp_path, "fetch") == fetches  # the quiet path wrote nothing, and the full path waited


def test_a_cycle_that_outlived_its_lease_stops_before_writing_anything(
    site: FixtureSite, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = load_config(str(_setup(site, tmp_path, f"sqlite:///{tmp_path}/tracker.db")))
    engine = make_engine(config.database)
    decide = cycle_engine._Cycle._decide

    def decide_then_lose_the_lease(cycle: Any, page: Any, answer: Any) -> Any:
        result = decide(cycle, page, answer)
        with sqlite3.connect(tmp_path / "tracker.db") as db:  # it ran out meanwhile, and another process took it
            db.execute("UPDATE lease SET holder = ? WHERE name = 'poll'", (OTHER,))
        return result

    monkeypatch.setattr(cycle_engine._Cycle, "_decide", decide_then_lose_the_lease)
    site.stage(U3A_DAY[0])
    fetches, events = _count(tmp_path, "fetch"), _count(tmp_path, "event")
    with pytest.raises(leases.LeaseLost, match="another process took it"):
        _poll(config, engine, U3A_DAY[1])
    assert (_count(tmp_path, "fetch"), _count(tmp_path, "event")) == (fetches, events)  # nothing written
    assert _lease(tmp_path)[0] == OTHER  # and the new holder keeps its lease
