"""Two `tracker run` replicas on one PostgreSQL database (real processes, a real fixture site, a real webhook
receiver): one poll cycle at a time, each message sent once by whichever replica claims it, the digest once, and a
replica killed with SIGKILL in the middle of its cycle loses the poll lease to the other within its time to live.
Each replica runs on a host of its own, as far as the lease can tell (its own UTS namespace, so its own host name):
a holder on another host cannot be probed, so its lease is taken over when it expires, not before (a holder that
died on this host is found at once: tests/test_poll_lease.py).

Which process did what is read from the database itself: each replica connects with its own application_name
(PGAPPNAME), and triggers the test adds log every change of the poll lease and every fetch record with it."""

import functools
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text

from tests.support.cli import Cli
from tests.support.receivers import WebhookReceiver
from tests.support.site import STORY, FixtureSite
from tests.support.waiting import wait_until
from tracker.config import load_config
from tracker.jobs.delivery import digest_tick
from tracker.notify.digest import previous_fire
from tracker.store.db import make_engine

TTL, TICK = 10, 1  # seconds: the replicas' service.lease_ttl and service.tick
CHANNELS = 20  # x 3 pulled builds = 60 alerts: more than one claim batch (50), so both replicas send some
HOLD = 5.0  # seconds each release-notes page takes to answer while the first cycle runs: 12 pages, 4 at once
FOLLOW = 12  # new release-notes pages a cycle follows (http.follow_limit)
NOW = "2021-11-13T08:00:00Z"  # only for the in-process `tracker init`; the replicas run on the real clock

LOG_TRIGGERS = """
CREATE TABLE replica_log (
    id serial PRIMARY KEY, at timestamptz NOT NULL DEFAULT clock_timestamp(),
    app text NOT NULL DEFAULT current_setting('application_name'), what text NOT NULL, holder text, previous text);
CREATE FUNCTION log_lease() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN INSERT INTO replica_log (what, holder, previous) VALUES ('lease', NEW.holder, OLD.holder);
    RETURN NULL; END $$;
CREATE FUNCTION log_fetch() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN INSERT INTO replica_log (what, holder) VALUES ('fetch', NEW.source_id); RETURN NULL; END $$;
CREATE TRIGGER lease_logged AFTER UPDATE ON lease FOR EACH ROW WHEN (NEW.name = 'poll') EXECUTE FUNCTION log_lease();
CREATE TRIGGER fetch_logged AFTER INSERT ON "fetch" FOR EACH ROW EXECUTE FUNCTION log_fetch();
"""


@dataclass
class Replica:
    """One `tracker run` process, its stderr kept line by line."""

    name: str
    process: subprocess.Popen[str]
    lines: list[str] = field(default_factory=list)

    @classmethod
    def start(cls, name: str, config: Path) -> "Replica":
        """`tracker run` on a host named `replica-NAME` (the process id stays the one Popen gives)."""
        run = shlex.join([sys.executable, "-m", "tracker.cli", "--config", str(config), "run"])
        command = [*_own_host(), "sh", "-c", f"hostname replica-{name} && exec {run}"]
        env = {**os.environ, "PGAPPNAME": name}
        replica = cls(name, subprocess.Popen(command, stderr=subprocess.PIPE, text=True, env=env))
        threading.Thread(target=replica._read, daemon=True).start()
        return replica

    def _read(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.lines.append(line)

    @property
    def pid(self) -> int:
        return self.process.pid

    def sent(self) -> int:
        return sum(int(m.group(1)) for line in self.lines if (m := re.search(r"^outbox: .*?(\d+) sent", line)))

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)


@functools.cache
def _own_host() -> tuple[str, ...]:
    """The command that gives a process a host name of its own: `unshare --uts` (as root), or in a user namespace."""
    for command in (("unshare", "--uts"), ("unshare", "--user", "--map-root-user", "--uts")):
        if shutil.which("unshare") and subprocess.run([*command, "hostname", "probe"], check=False).returncode == 0:
            return command
    pytest.skip("cannot give a replica a host name of its own here (unshare --uts is not permitted)")


def _write_config(folder: Path, database: str, site: FixtureSite, hook: WebhookReceiver) -> Path:
    def webhook(path: str) -> str:
        return f"json://{hook.url(path).removeprefix('http://')}"

    channels = "".join(f"  hook-{n:02d}: {{urls: ['{webhook(f'/alert/{n:02d}')}']}}\n" for n in range(CHANNELS))
    config = folder / "tracker.yaml"
    config.write_text(
        f"database: '{database}'\n"
        "sources:\n"
        f"  - {{id: esxi-kb, kind: kb_build_table, url: '{site.url('/kb/316595.html')}', product: esxi,"
        " interval: 4s}\n"
        f"http: {{politeness_delay: 0, follow_limit: {FOLLOW}, timeout: 20}}\n"
        f"service: {{tick: {TICK}s, lease_ttl: {TTL}s}}\n"
        "digest: {schedule: '0 0 1 1 *'}\n"  # New Year's midnight: due once here (see _prepare), never again
        f"channels:\n{channels}  digest: {{urls: ['{webhook('/digest')}']}}\n"
        "watchlists:\n"
        "  - {name: prod-esxi, products: [esxi], lines: ['7.0'], events: [pulled], digest: [digest],\n"
        f"     immediate: [{', '.join(f'hook-{n:02d}' for n in range(CHANNELS))}]}}\n",
        encoding="utf-8",
    )
    return config


def _prepare(config: Path, engine: Engine) -> None:
    """The schema, the log triggers, and a digest last sent in 2020: due at the replicas' first tick."""
    Cli(config)("init", now=NOW)
    with engine.begin() as connection:
        connection.execute(text(LOG_TRIGGERS))
        connection.execute(text("INSERT INTO digest_state VALUES ('digest', '2020-01-01 00:00:00')"))


def _notes_paths(stage: str) -> list[str]:
    """The release-notes pages the stage's ESXi KB links to (what a cycle follows)."""
    page = (STORY / stage / "kb" / "316595.html").read_text(encoding="utf-8")
    return sorted(set(re.findall(r'href="(/notes/[^"]+)"', page)))


def _lease(engine: Engine) -> tuple[str | None, Any]:
    with engine.connect() as connection:
        row = connection.execute(text("SELECT holder, acquired_at FROM lease WHERE name = 'poll'")).first()
    return (row[0], row[1]) if row else (None, None)


def _count(engine: Engine, query: str) -> int:
    with engine.connect() as connection:
        return int(connection.execute(text(query)).scalar_one())


def _log(engine: Engine) -> list[tuple[str, str, str | None, str | None]]:
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT app, what, holder, previous FROM replica_log ORDER BY id"))
        return [(r[0], r[1], r[2], r[3]) for r in rows]


def _takeovers(log: list[tuple[str, str, str | None, str | None]]) -> list[tuple[str, str]]:
    """Check that every fetch record was written by the process holding the lease at that moment; return each
    (previous app, new app) where a holder took the lease from another holder (not from a free lease)."""
    app_of: dict[str, str] = {}
    holder: str | None = None
    takeovers: list[tuple[str, str]] = []
    for app, what, new, previous in log:
        if what == "lease":
            if new is not None:
                app_of.setdefault(new, app)
                assert app_of[new] == app, f"{app} wrote {app_of[new]}'s lease"
            if new is not None and previous is not None and new != previous:
                takeovers.append((app_of[previous], app))
            holder = new
        else:
            assert holder is not None and app_of[holder] == app, f"{app} recorded a fetch while {holder} held the lease"
    return takeovers


def _polls(running: dict[str, Replica]) -> str:
    return "".join(f"{r.name}: {line}" for r in running.values() for line in r.lines if line.startswith("poll"))


@contextmanager
def _replicas(config: Path) -> Iterator[dict[str, Replica]]:
    running: dict[str, Replica] = {}
    try:
        yield running
    finally:
        for replica in running.values():
            replica.stop()


def test_two_replicas_poll_one_at_a_time_send_once_and_survive_a_kill(
    postgres_url: str, site: FixtureSite, tmp_path: Path
) -> None:
    engine = make_engine(postgres_url)
    site.stage("04-2021-11-13")  # baseline: 7.0 U3, U3a and U3b listed
    for path in _notes_paths("04-2021-11-13"):
        site.hold(path, HOLD)  # the first cycle follows 12 notes pages in 15 s under its lease: longer than the TTL
    with WebhookReceiver() as hook, _replicas(config := _write_config(tmp_path, postgres_url, site, hook)) as running:
        hook.slow(0.1)
        _prepare(config, engine)
        for name in ("a", "b"):
            running[name] = Replica.start(name, config)

        # The first cycle: one replica takes the lease and fetches past the TTL, renewing; the other waits.
        holder = wait_until(lambda: _lease(engine)[0], 30, "a replica takes the poll lease")
        acquired = time.monotonic()
        pid = int(holder.split(":")[1])
        victim = next(r for r in running.values() if r.pid == pid)
        survivor = next(r for r in running.values() if r is not victim)
        wait_until(lambda: time.monotonic() - acquired > TTL + 1, TTL + 2, "the first cycle outlives one TTL")
        assert _lease(engine)[0] == holder, _polls(running)  # renewed while it fetched: nobody took it
        assert _count(engine, 'SELECT count(*) FROM "fetch"') == 0  # still fetching: mid-cycle

        victim.process.send_signal(signal.SIGKILL)
        killed = time.monotonic()
        site.clear_faults()
        taken = wait_until(
            lambda: (h := _lease(engine)[0]) is not None and h != holder and h, TTL + 5, "the survivor takes over"
        )
        taken_after = time.monotonic() - killed
        wait_until(lambda: _count(engine, 'SELECT count(*) FROM "fetch"') > 0, 15, "the survivor records a cycle")
        completed_after = time.monotonic() - killed
        assert int(taken.split(":")[1]) == survivor.pid
        assert taken.startswith(f"replica-{survivor.name}:") and holder.startswith(f"replica-{victim.name}:")
        print(f"takeover: lease taken {taken_after:.1f} s, cycle recorded {completed_after:.1f} s after the kill")
        assert taken_after <= TTL + TICK
        assert completed_after <= TTL + TICK + 3  # + the survivor's own cycle (13 pages, answered at once now)
        del running[victim.name]

        # Three builds disappear from the KB (pulled on the second poll that misses them): 60 alerts, two senders.
        running["c"] = late = Replica.start("c", config)
        site.stage("07-2021-11-22")
        try:  # a bound, not a speed target: the tests run on two workers, and the machine may be busy
            wait_until(
                lambda: len([p for p in hook.posts if p.path.startswith("/alert/")]) >= 3 * CHANNELS, 90, "alerts"
            )
        except AssertionError as late_alerts:
            logs = {r.name: "".join(r.lines[-40:]) for r in running.values()}
            raise AssertionError(f"{late_alerts}: {len(hook.posts)} posts; replicas said {logs}") from None
        wait_until(
            lambda: _count(engine, "SELECT count(*) FROM outbox WHERE status <> 'sent'") == 0, 10, "all rows sent"
        )
    # Both replicas stopped (SIGTERM lets a step finish): nothing can be sent any more.

    alerts = Counter(p.path for p in hook.posts if p.path.startswith("/alert/"))
    assert alerts == {f"/alert/{n:02d}": 3 for n in range(CHANNELS)}  # each alert exactly once
    assert len({(p.path, p.body) for p in hook.posts}) == len(hook.posts)  # and no message twice under another path
    assert [p.path for p in hook.posts].count("/digest") == 1  # the digest once, though both replicas found it due
    assert _count(engine, "SELECT count(*) FROM outbox WHERE kind = 'digest'") == 1
    assert _count(engine, "SELECT count(*) FROM delivery") == 3 * CHANNELS + 1  # one delivery each, no retry
    assert survivor.sent() > 0 and late.sent() > 0, "both replicas worked the outbox"
    assert _takeovers(_log(engine)) == [(victim.name, survivor.name)]  # only from the killed replica, after it died
    for replica in (survivor, late):
        assert "Traceback" not in "".join(replica.lines), "".join(replica.lines)


def test_a_digest_another_process_queues_at_the_same_moment_is_logged_not_raised(
    postgres_url: str, tmp_path: Path
) -> None:
    config_file = tmp_path / "tracker.yaml"
    config_file.write_text(
        f"database: '{postgres_url}'\nsources: []\ndigest: {{schedule: '0 0 1 1 *'}}\n"
        "channels:\n  digest: {urls: ['json://127.0.0.1:9/digest']}\n"
        "watchlists:\n  - {name: prod-esxi, products: [esxi], digest: [digest]}\n",
        encoding="utf-8",
    )
    config, engine = load_config(str(config_file)), make_engine(postgres_url)
    _prepare(config_file, engine)
    now = datetime(2021, 11, 13, 8, tzinfo=UTC)
    key = f"digest:{previous_fire(config.digest.schedule, config.timezone, now).isoformat()}"
    with engine.connect() as other:  # the other process: its digest row inserted, not yet committed
        other.execute(
            text(
                "INSERT INTO outbox (kind, dedup_key, channel, payload, status, attempts, created_at, next_attempt_at,"
                " done_targets) VALUES ('digest', :key, 'digest', '{}', 'sent', 1, :now, :now, '[]')"
            ),
            {"key": key, "now": now.replace(tzinfo=None)},
        )
        ticked: list[str] = []
        tick = threading.Thread(target=lambda: ticked.append(digest_tick(config, make_engine(postgres_url), now)))
        tick.start()
        waiting = (
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()"
        )
        wait_until(lambda: _count(engine, waiting) == 1, 10, "this tick's insert waits on the other's row")
        other.commit()
        tick.join(10)
    assert ticked == ["digest: queued by another process just now"]
    assert _count(engine, "SELECT count(*) FROM outbox WHERE kind = 'digest'") == 1
