"""One poll cycle at a time, across processes: two cycles at once would both announce the same new build (each
reads the catalog before the other writes). The second waits for the first (the `poll` lease), a `tracker poll`
beside a running cycle says so, and the lease of a process that died expires."""

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from tests.support.cli import Cli
from tests.support.configs import kb_config
from tests.support.site import STORY, FixtureSite
from tests.support.slow_pages import SlowSite
from tests.support.together import together
from tests.support.waiting import wait_until
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

    def fetch_while_another_cycle_starts(stage: FetchStage, pages: Any, **hooks: Any) -> Any:
        answers = fetch(stage, pages, **hooks)
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

    def decide_then_lose_the_lease(cycle: Any, page: Any) -> Any:
        result = decide(cycle, page)
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


# --- a holder that died ----------------------------------------------------------------------------------------
BOUND = 90  # seconds: a generous upper bound proving a command ended (a lease it waited 15 minutes for never does)


@pytest.fixture
def slow_site() -> Iterator[SlowSite]:
    server = SlowSite().start()
    server.stage("01-2021-09-20")
    try:
        yield server
    finally:
        server.stop()


def _start_poll(config: Path, now: str) -> "subprocess.Popen[str]":
    """`tracker poll` in its own process, as an admin or cron starts it."""
    command = [sys.executable, "-m", "tracker.cli", "--config", str(config), "--now", now, "poll"]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _holder(engine: Any) -> str | None:
    from sqlalchemy import text

    with engine.connect() as connection:
        return connection.execute(text("SELECT holder FROM lease WHERE name = 'poll'")).scalar()  # type: ignore[no-any-return]


def _first_poll_held_in_its_fetch(site: SlowSite, config: Path, engine: Any) -> "subprocess.Popen[str]":
    """A first poll that holds the lease, waiting for the release notes its KB rows link to (gated)."""
    Cli(config)("init", now="2021-09-20T08:00:00Z")
    site.gate(*(f"/notes/{p.name}" for p in (STORY / "common" / "notes").iterdir()))
    polling = _start_poll(config, "2021-09-20T08:00:00Z")
    wait_until(
        lambda: (h := _holder(engine)) and h.split(":")[1] == str(polling.pid), BOUND, "the poll takes the lease"
    )
    wait_until(lambda: site.arrived, BOUND, "the poll waits for a release-notes page, holding the lease")
    return polling


@pytest.mark.parametrize(("entry", "reaped"), [(["poll", "--wait", "0"], False), (["run", "--once"], True)])
def test_a_poll_killed_mid_cycle_leaves_a_lease_the_next_cycle_on_this_host_takes_at_once(
    database: str, slow_site: SlowSite, tmp_path: Path, entry: list[str], reaped: bool
) -> None:
    config = kb_config(slow_site, tmp_path, database)
    with config.open("a", encoding="utf-8") as file:
        file.write("service: {lease_ttl: 15m}\n")  # a dead holder this host cannot recognise keeps others out 15 min
    engine = make_engine(database)
    polling = _first_poll_held_in_its_fetch(slow_site, config, engine)

    polling.send_signal(signal.SIGKILL)  # kill -9: nothing frees the lease
    if reaped:
        polling.wait(BOUND)  # its parent (a supervisor) collected it
    else:
        os.waitid(os.P_PID, polling.pid, os.WEXITED | os.WNOWAIT)  # dead, unreaped (a zombie): gone all the same
    dead = _holder(engine)
    assert dead is not None and dead.split(":")[1] == str(polling.pid)
    assert "poll cycle is running" not in Cli(config)("sources", now="2021-09-20T08:00:00Z")  # nobody runs one
    slow_site.open_gate()
    command = [sys.executable, "-m", "tracker.cli", "--config", str(config), "--now", "2021-09-20T08:00:00Z", *entry]
    ended = subprocess.run(command, capture_output=True, text=True, timeout=BOUND, check=False)

    assert ended.returncode == 0, ended.stderr
    assert "waiting for another poll cycle" not in ended.stderr and "skipped" not in ended.stderr
    assert f"the poll lease was held by {dead}, a process of this host that is gone: taken over" in ended.stderr
    assert _holder(engine) is None  # taken, then freed at the cycle's end
    shown = Cli(config)("sources", "--json", now="2021-09-20T09:00:00Z")
    assert {s["id"]: s["health"] for s in json.loads(shown)} == {"esxi-kb": "ok", "vcenter-kb": "ok"}
    polling.wait(BOUND)


def test_only_a_holder_that_is_provably_gone_loses_its_lease_before_it_expires(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path}/tracker.db")
    migrate(engine)
    ttl = timedelta(minutes=15)
    script = "import sys; from tracker.store.leases import holder_id; print(holder_id(), flush=True); sys.stdin.read()"
    child = subprocess.Popen([sys.executable, "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None
    alive = child.stdout.readline().strip()
    host, pid, token, proc = alive.split(":")
    place, started = proc.split(".")

    def taken_from(holder: str) -> bool:
        """`holder` took the lease a moment ago: does this process take it now?"""
        with sqlite3.connect(tmp_path / "tracker.db") as db:
            db.execute("UPDATE lease SET holder = NULL WHERE name = 'poll'")
        assert leases.try_acquire(engine, "poll", holder, ttl) is None
        return leases.try_acquire(engine, "poll", "this-test", ttl) is None

    assert not taken_from(alive)  # a live process of this host keeps its lease
    assert leases.current(engine, "poll") is not None
    assert taken_from(f"{host}:{pid}:{token}:{place}.{int(started) + 1}")  # its PID now names a newer process
    child.kill()
    os.waitid(os.P_PID, child.pid, os.WEXITED | os.WNOWAIT)  # dead, and left unreaped: a zombie
    assert taken_from(alive)  # killed, not yet reaped
    child.wait(BOUND)
    assert taken_from(alive)  # and reaped: no such process
    assert not taken_from(f"vc-admin-01:{pid}:{token}:{place}.{started}")  # another host: wait for the expiry
    assert not taken_from(f"{host}:{pid}:{token}:0badc0de.{started}")  # another PID namespace or boot: the same
    assert not taken_from(f"{host}:{pid}:{token}")  # no place, no start time (an older holder id): the same
    assert not taken_from(f"{host}:-1:{token}:{place}.{started}")  # nonsense is never probed


def test_a_lease_left_on_another_host_is_free_about_a_minute_after_its_last_renewal(tmp_path: Path) -> None:
    config_file = tmp_path / "tracker.yaml"
    config_file.write_text(f"database: 'sqlite:///{tmp_path}/tracker.db'\n", encoding="utf-8")
    config = load_config(str(config_file))  # the default lease time
    engine = make_engine(config.database)
    migrate(engine)
    renewed = datetime.now(UTC)
    assert leases.try_acquire(engine, "poll", OTHER, config.service.lease_ttl, now=lambda: renewed) is None
    # ... then that host lost power.
    soon, later = renewed + timedelta(seconds=55), renewed + timedelta(seconds=65)
    assert leases.try_acquire(engine, "poll", "here:1:x", config.service.lease_ttl, now=lambda: soon) is not None
    assert leases.try_acquire(engine, "poll", "here:1:x", config.service.lease_ttl, now=lambda: later) is None


def test_a_cycle_waiting_on_one_page_longer_than_its_lease_lasts_keeps_the_lease(
    slow_site: SlowSite, tmp_path: Path
) -> None:
    config = kb_config(slow_site, tmp_path)
    ttl = 10  # seconds, the shortest lease_ttl allowed
    with config.open("a", encoding="utf-8") as file:
        file.write(f"service: {{lease_ttl: {ttl}s}}\n")
    engine = make_engine(load_config(str(config)).database)
    polling = _first_poll_held_in_its_fetch(slow_site, config, engine)
    taken = time.monotonic()  # the lease was taken before this: it would have expired by taken + ttl
    holder = _holder(engine)

    wait_until(lambda: time.monotonic() > taken + ttl + 1, ttl + 5, "the cycle outlives its first lease time")
    held = leases.try_acquire(engine, "poll", OTHER, timedelta(seconds=ttl))
    assert held is not None and held.holder == holder  # renewed while it waited on the page: not free
    slow_site.open_gate()
    _, err = polling.communicate(timeout=BOUND)
    assert polling.returncode == 0, err
    assert "lease ran out" not in err
    assert _holder(engine) is None
