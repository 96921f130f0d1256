"""One poll engine: the service (`tracker run --once`, one tick) decides exactly what `tracker poll` decides.

The 7.0 U3 story and the all-sources story are replayed both ways and give the same whole event lists. Replayed one
source at a time (`tracker poll --source ID`, as a service whose sources fall due at different times would), the
depot and the download page that drop the U3 builds in the same days still agree on one high-confidence pull: the
cycle fetches the product's other availability source on demand, with a conditional request, before it settles.
"""

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.cli import Cli
from tests.support.configs import kb_config
from tests.support.queued import opened, outbox_config, queue
from tests.support.receivers import WebhookReceiver
from tests.support.site import FixtureSite
from tests.support.waiting import wait_until
from tests.test_all_sources_story import SOURCES, write_config
from tests.test_all_sources_story import STAGES as ALL_STAGES
from tests.test_story import STAGES as KB_STAGES
from tracker.config import WebConfig, clock, load_config
from tracker.demo import DIGEST, FINAL, INVENTORY, config_text, console_channel, replay_story, story_site
from tracker.demo import STAGES as DEMO_STAGES
from tracker.domain.clock import machine
from tracker.inventory.files import read_inventory
from tracker.jobs.delivery import channel_tick, digest_now
from tracker.jobs.inventory import import_inventory
from tracker.notify.outbox import Stop
from tracker.scheduler import poll_tick
from tracker.store.db import make_engine, migrate
from tracker.store.leases import try_acquire
from tracker.web.server import WebThread

U3, U3A, U3B = 18644231, 18825058, 18905247
AVAILABILITY = {"esxi-downloads": "/downloads/esxi-70.html", "esxi-depot": "/depot/vmw-depot-index.xml"}


def replay(site: FixtureSite, cli: Cli, stages: list[tuple[str, str]], *command: str) -> list[dict[str, Any]]:
    for stage, now in stages:
        site.stage(stage)
        cli(*command, now=now)
    events: list[dict[str, Any]] = cli.json("events", now=stages[-1][1])
    return events


@pytest.mark.parametrize("story", ["kb-tables", "all-sources"])
def test_the_service_replays_each_story_into_exactly_the_events_tracker_poll_gives(
    site: FixtureSite, tmp_path: Path, story: str
) -> None:
    def config(folder: Path) -> Path:
        folder.mkdir()
        if story == "kb-tables":
            return kb_config(site, folder)
        return write_config(folder, site, f"sqlite:///{folder}/tracker.db")

    stages = KB_STAGES if story == "kb-tables" else ALL_STAGES
    by_poll = replay(site, Cli(config(tmp_path / "poll")), stages, "poll")
    by_service = replay(site, Cli(config(tmp_path / "service")), stages, "run", "--once")
    assert len(by_poll) > 10
    assert by_service == by_poll


def test_the_service_polls_only_the_sources_that_are_due(site: FixtureSite, tmp_path: Path) -> None:
    folder = tmp_path / "due"
    folder.mkdir()
    cli = Cli(write_config(folder, site, f"sqlite:///{folder}/tracker.db"))
    site.stage(ALL_STAGES[0][0])
    cli("run", "--once", now="2021-09-20T08:00:00Z")  # never polled: all due
    site.reset_log()
    cli("run", "--once", now="2021-09-20T08:30:00Z")  # every interval is an hour: none due
    assert site.requests == []
    cli("run", "--once", now="2021-09-20T09:00:00Z")
    assert {hit.path for hit in site.requests} >= {"/kb/316595.html", "/downloads/esxi-70.html"}


def availability_config(site: FixtureSite, folder: Path) -> Path:
    """Only the download page and the depot: pulls are theirs to tell (no KB row, no notice)."""
    sources = "".join(
        f"  - {{id: {name}, kind: {SOURCES[name][0]}, url: '{site.url(path)}', product: esxi}}\n"
        for name, path in AVAILABILITY.items()
    )
    config = folder / "tracker.yaml"
    config.write_text(
        f"database: 'sqlite:///{folder}/tracker.db'\nsources:\n{sources}http: {{politeness_delay: 0, timeout: 5}}\n",
        encoding="utf-8",
    )
    return config


def test_one_source_at_a_time_still_corroborates_the_pull_on_demand(site: FixtureSite, tmp_path: Path) -> None:
    cli = Cli(availability_config(site, tmp_path))
    on_demand: list[tuple[str, str, Any]] = []  # (stage, source polled, the sibling's request)
    for stage, now in ALL_STAGES:
        site.stage(stage)
        for source in AVAILABILITY:
            site.reset_log()
            cli("poll", "--source", source, now=now)
            sibling = next(s for s in AVAILABILITY if s != source)
            on_demand += [(stage, source, h) for h in site.requests if h.path == AVAILABILITY[sibling]]
    events = cli.json("events", now=ALL_STAGES[-1][1])
    assert [e for e in events if e["kind"] == "discrepancy"] == []
    pulled = {e["build"]: e for e in events if e["kind"] == "pulled"}
    assert set(pulled) == {U3, U3A, U3B}
    for build in (U3, U3A, U3B):  # one alert each, both sources agreeing
        assert pulled[build]["confidence"] == "high", pulled[build]
        assert _sources(pulled[build]) == set(AVAILABILITY)
    assert on_demand, "the sibling was never fetched in the cycle of the source that dropped a build"
    pull_days = {e["observed_at"][:10] for e in pulled.values()}
    assert {stage[3:] for stage, _, _ in on_demand} == pull_days  # only in the cycles where a build left


def test_the_sibling_asked_on_demand_is_asked_with_a_conditional_request(site: FixtureSite, tmp_path: Path) -> None:
    cli = Cli(availability_config(site, tmp_path))
    for stage, now in ALL_STAGES[:5]:
        site.stage(stage)
        cli("poll", now=now)
    site.stage("06-2021-11-19")  # U3b leaves both; the depot speaks first, and asks the download page
    site.reset_log()
    cli("poll", "--source", "esxi-depot", now="2021-11-19T08:00:00Z")
    asked = [h for h in site.requests if h.path == AVAILABILITY["esxi-downloads"]]
    assert len(asked) == 1
    assert {"if-none-match", "if-modified-since"} & {k.lower() for k in asked[0].headers}
    pulled = [e for e in cli.json("events", now="2021-11-19T08:00:00Z") if e["kind"] == "pulled"]
    assert [(e["build"], e["confidence"]) for e in pulled] == [(U3B, "high")]


def _sources(event: dict[str, Any]) -> set[str]:
    return {e["source"] for e in event["evidence"]}


def test_followed_release_notes_are_fetched_by_tier_so_a_cycle_stays_bounded(site: FixtureSite, tmp_path: Path) -> None:
    cli = Cli(kb_config(site, tmp_path))
    replay(site, cli, KB_STAGES, "poll")  # ends 2022-01-28; the notes of 6.7 and early 7.0 builds are long quiet

    def notes_fetched(now: str) -> int:
        site.reset_log()
        cli("poll", now=now)
        return sum(1 for hit in site.requests if hit.path.startswith("/notes/"))

    followed = [s for s in cli.json("sources", "--all", now="2022-01-28T09:00:00Z") if not s["configured"]]
    hourly, daily, weekly = (
        notes_fetched("2022-01-28T09:00:00Z"),
        notes_fetched("2022-01-29T09:00:00Z"),
        notes_fetched("2022-02-04T09:00:00Z"),
    )
    assert 0 < hourly < daily < weekly <= len(followed)
    assert hourly <= len(followed) // 4  # most pages rest


def test_tracker_sources_shows_each_pages_tier_and_next_poll_and_writes_nothing(
    site: FixtureSite, tmp_path: Path
) -> None:
    config = kb_config(site, tmp_path)
    cli = Cli(config)
    replay(site, cli, KB_STAGES, "poll")
    extra = f"  - {{id: extra-kb, kind: kb_build_table, url: '{site.url('/kb/316595.html')}', product: esxi}}\n"
    config.write_text(config.read_text(encoding="utf-8").replace("http: {", extra + "http: {"), encoding="utf-8")
    before = _rows(tmp_path / "tracker.db")
    now = "2022-01-28T08:30:00Z"
    table = cli("sources", now=now)
    rows = {row["id"]: row for row in cli.json("sources", "--all", now=now)}
    assert _rows(tmp_path / "tracker.db") == before  # read only: not a row changed
    assert "extra-kb" in table and "never polled" in table and "every-cycle" in table and "weekly" in table
    assert rows["extra-kb"]["health"] == "never polled" and rows["extra-kb"]["next_poll"] == "2022-01-28T08:30:00Z"
    assert rows["esxi-kb"]["next_poll"] == "2022-01-28T09:00:00Z"  # an hour after its last poll
    notes = [r for r in rows.values() if not r["configured"] and r["active"]]
    assert {r["tier"] for r in notes} == {"every-cycle", "daily", "weekly"}
    assert all(r["next_poll"] is None for r in notes if r["tier"] == "every-cycle")  # with their KB table


def _rows(database: Path) -> list[str]:
    """Every row of the database, as SQL (the file's bytes may move when SQLite folds its WAL in on a close)."""
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as connection:
        return list(connection.iterdump())


def test_linked_notes_never_fetched_are_followed_while_the_kb_answers_304_newest_first(
    site: FixtureSite, tmp_path: Path
) -> None:
    config = kb_config(site, tmp_path)
    config.write_text(config.read_text(encoding="utf-8").replace("follow_limit: 500", "follow_limit: 5"))
    cli = Cli(config)
    site.stage(KB_STAGES[0][0])

    def read(now: str) -> tuple[set[str], list[str]]:
        """The followed pages read so far, and every linked page's id."""
        linked = [s for s in cli.json("sources", "--all", now=now) if not s["configured"] and s["active"]]
        return {s["id"] for s in linked if s["last_success"]}, [s["id"] for s in linked]

    cli("poll", now="2021-10-06T09:00:00Z")
    first, linked = read("2021-10-06T09:00:00Z")
    site.reset_log()
    cli("poll", now="2021-10-06T10:00:00Z")  # both KB tables answer 304 now
    second, _ = read("2021-10-06T10:00:00Z")
    assert [h.status for h in site.requests if h.path.startswith("/kb/")] == [304, 304]
    assert len(linked) > 20 and len(first) == 10 and len(second) == 20  # five per KB table, each cycle
    newest = sorted((i for i in linked if i.startswith("esxi-kb")), key=lambda i: -int(i.rsplit(":", 1)[1]))
    assert {i for i in first if i.startswith("esxi-kb")} == set(newest[:5])  # the newest builds' notes first


def test_a_cycle_that_takes_the_full_path_fetches_each_page_once(site: FixtureSite, tmp_path: Path) -> None:
    cli = Cli(kb_config(site, tmp_path))
    for stage, now in KB_STAGES[:3]:  # a first poll, then pages that changed
        site.stage(stage)
        site.reset_log()
        cli("poll", now=now)
        paths = [h.path for h in site.requests]
        assert paths and len(paths) == len(set(paths)), stage


def test_pages_fetched_before_another_cycle_finished_are_fetched_again_under_the_lease(
    site: FixtureSite, tmp_path: Path
) -> None:
    """On a shared database a replica plans and fetches, then takes the lease: if another cycle recorded the same
    pages meanwhile, the answers it holds are stale. It fetches again, under the lease, and decides what a second
    `tracker poll` run after the first would."""
    from tracker.config import clock, load_config
    from tracker.cycle.fetch import FetchStage
    from tracker.cycle.full import Inputs, orm_snapshot, run_locked
    from tracker.cycle.options import Hooks, http_settings
    from tracker.cycle.parse import parsing
    from tracker.cycle.plan import Request, plan
    from tracker.http import Fetcher, build_client
    from tracker.store.db import make_engine

    def replica(folder: Path) -> tuple[Path, Cli]:
        path = kb_config(site, folder)
        path.write_text(path.read_text(encoding="utf-8").replace("follow_limit: 500", "follow_limit: 0"))
        cli = Cli(path)
        for stage, now in KB_STAGES[:4]:
            site.stage(stage)
            cli("poll", now=now)
        return path, cli

    stage, now = KB_STAGES[4]
    _, sequential = replica(tmp_path / "sequential")
    site.stage(stage)
    sequential("poll", now=now)
    sequential("poll", now=now)
    path, cli = replica(tmp_path / "replicas")
    config = load_config(str(path))  # the U3 rows vanish from the KB
    engine, request = make_engine(config.database), Request(clock(now))
    site.stage(stage)
    with build_client(http_settings(config)) as client:
        fetching = FetchStage(Fetcher(client, http_settings(config)), parallel=True)
        snapshot = orm_snapshot(engine)
        pages = plan(config, snapshot, request)
        answers = fetching.fetch(pages)  # this replica fetched ...
        cli("poll", now=now)  # ... another finished a whole cycle over the same pages ...
        site.reset_log()
        with parsing(pages, answers, config.mask) as reader:  # ... then ours
            run_locked(config, engine, Inputs(fetching, request, snapshot, pages, answers, reader), Hooks())
    assert sorted(h.status for h in site.requests) == [304, 304]  # fetched again, with the new validators
    assert cli.json("events", now=now) == sequential.json("events", now=now)


# --- One poll use case behind every entry point -------------------------------------------------------------------
Poller = Callable[[str], object]  # poll once at this time (a --now), the way one entry point does
WRITE_TOKEN = "write-token-0123456789abcdef"


def test_every_entry_point_replays_the_story_into_the_same_events_catalog_and_outbox(tmp_path: Path) -> None:
    """The demo's story (its bundled pages, its inventory, its config with a console channel) replayed through each
    entry point that polls, all of them calling tracker/jobs/poll.py `poll`: the same events, the same catalog, the
    same outbox rows, and the same messages received by the channel."""
    entry_points = {
        "tracker poll": _tracker_poll,
        "a service tick": _service_tick,
        "tracker run --once": _run_once,
        "POST /api/v1/poll": _web_poll,
    }
    results, heard = {}, {}
    with story_site() as stage:  # one site for all: the pages' URLs are part of what is recorded
        for name, entry in entry_points.items():
            folder = tmp_path / name.replace(" ", "-").replace("/", "_")
            results[name], heard[name] = _replay(folder, stage, entry)
        shown: list[str] = []
        (tmp_path / "demo").mkdir()
        replay_story(tmp_path / "demo", stage, shown.append)
        results["the demo"] = _replayed(tmp_path / "demo" / "tracker.yaml")
        heard["the demo"] = [line for line in shown if line.startswith("\n  ┌─ ")]  # what its console channel got
    expected = results["tracker poll"]
    assert len(expected["events"]) > 10 and len(expected["builds"]) > 20
    assert [row["kind"] for row in expected["outbox"]].count("alert") >= 9
    assert {row["status"] for row in expected["outbox"]} == {"sent"}
    assert len(heard["tracker poll"]) == len(expected["outbox"])
    for name, got in results.items():
        assert got["events"] == expected["events"], name
        assert got["builds"] == expected["builds"], name
        assert _polled(got["outbox"]) == _polled(expected["outbox"]), name
        assert _alerts(heard[name]) == _alerts(heard["tracker poll"]), name
        if name != "tracker run --once":  # which runs the digest job after the poll: the scheduled digests are its
            assert got["outbox"] == expected["outbox"], name
            assert heard[name] == heard["tracker poll"], name
    assert len(results["tracker run --once"]["outbox"]) > len(expected["outbox"])


def _polled(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The outbox rows a poll queues (alerts, notices): not the digests, which are the digest job's."""
    return [row for row in rows if row["kind"] != "digest"]


def _alerts(heard: list[str]) -> list[str]:
    return [text for text in heard if "] Digest for " not in text.split("\n")[1]]


def _replay(
    folder: Path, stage: Callable[[str], str], entry: Callable[[Path], AbstractContextManager[Poller]]
) -> tuple[dict[str, Any], list[str]]:
    """The demo's steps (tracker/demo `replay_story`: its config, its inventory, the digest on its morning), each
    stage polled through `entry`; what was recorded, and what the console channel received."""
    heard: list[str] = []
    folder.mkdir()
    path = folder / "tracker.yaml"
    with console_channel(heard.append) as console:
        path.write_text(config_text(stage(DEMO_STAGES[0][0]), console, folder), encoding="utf-8")
        config = load_config(str(path))
        engine = make_engine(config.database)
        migrate(engine)
        import_inventory(engine, read_inventory(INVENTORY), "demo inventory", clock(DEMO_STAGES[0][1]))
        digest_sent = False
        with entry(path) as poll_at:
            for name, now, _ in DEMO_STAGES:
                if not digest_sent and clock(now) > clock(DIGEST):
                    digest_now(config, engine, clock(DIGEST), send=True)
                    digest_sent = True
                stage(name)
                poll_at(now)
    return _replayed(path), heard


def _replayed(path: Path) -> dict[str, Any]:
    """What a replay recorded: every event and build as `--json` gives them, and every outbox row (but its id and
    its claim, which name a process and the real clock)."""
    cli = Cli(path)
    columns = "kind, dedup_key, channel, event_id, payload, status, attempts, created_at, next_attempt_at, sent_at"
    with sqlite3.connect(f"file:{path.parent / 'tracker.db'}?mode=ro", uri=True) as db:
        db.row_factory = sqlite3.Row
        rows = [dict(row) for row in db.execute(f"SELECT {columns}, last_error FROM outbox ORDER BY id")]
    return {"events": cli.json("events", now=FINAL), "builds": cli.json("builds", now=FINAL), "outbox": rows}


@contextmanager
def _tracker_poll(path: Path) -> Iterator[Poller]:
    cli = Cli(path)
    yield lambda now: cli("poll", now=now)


@contextmanager
def _run_once(path: Path) -> Iterator[Poller]:
    cli = Cli(path)
    yield lambda now: cli("run", "--once", now=now)


@contextmanager
def _service_tick(path: Path) -> Iterator[Poller]:
    """The scheduler's poll job, then each channel's sender, which the job wakes (tracker/scheduler.py)."""
    config = load_config(str(path))
    engine = make_engine(config.database)

    def tick(now: str) -> None:
        said = poll_tick(config, engine, clock(now))
        assert said.startswith("poll: ") and "skipped" not in said, said
        for channel in config.channels:
            channel_tick(config, engine, channel, clock(now), Stop())

    yield tick


@contextmanager
def _web_poll(path: Path) -> Iterator[Poller]:
    """A real web server (uvicorn on 127.0.0.1, as `tracker run` serves it) whose clock the replay moves: each stage
    is POST /api/v1/poll, then GET /api/v1/poll until the cycle asked for at that time has ended."""
    config = load_config(str(path))
    config = config.model_copy(update={"web": WebConfig(listen="127.0.0.1:0", write_tokens=(WRITE_TOKEN,))})
    moment = [clock(DEMO_STAGES[0][1])]
    web = WebThread(config, make_engine(config.database), lambda: moment[0], lambda _line: None)
    web.start()
    try:
        url = wait_until(lambda: web.server.url if web.server.started else None, 30, "the web server to listen")
        client = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {WRITE_TOKEN}"}, timeout=30)

        def ended(asked_at: str) -> dict[str, Any] | None:
            state = client.get("/api/v1/poll").json()
            last: dict[str, Any] | None = state["last"]
            return last if not state["running"] and last and last["asked_at"] == asked_at else None

        def poll_at(now: str) -> None:
            moment[0] = clock(now)
            assert client.post("/api/v1/poll").json() == {"queued": True}
            last = wait_until(lambda: ended(machine(moment[0]) or ""), 60, f"the cycle asked for at {now} to end")
            assert last["lease_lost"] is None and last["blocked_by"] is None, last

        with client:
            yield poll_at
    finally:
        web.stop(10)


def test_tracker_poll_beside_another_cycle_gives_up_and_still_delivers_what_is_due(tmp_path: Path) -> None:
    """The poll's rules, the same for every caller (tracker/jobs/poll.py): beside another process's cycle it waits
    its `--wait`, polls nothing and names who holds the lease (exit 1); the outbox it was asked for is worked all
    the same, as deliveries need no poll lease."""
    with WebhookReceiver() as hook:
        path = outbox_config(tmp_path, {"ops": f"json://127.0.0.1:{hook.port}/ops"})
        source = "  - {id: esxi-kb, kind: kb_build_table, url: 'http://127.0.0.1:9/kb.html', product: esxi}\n"
        path.write_text(path.read_text(encoding="utf-8") + f"sources:\n{source}", encoding="utf-8")
        engine = opened(path)[1]
        queue(engine, "ops", 2, clock("2021-11-19T08:00:00Z"))
        assert try_acquire(engine, "poll", "vc-admin-01:4242:0badc0de", timedelta(minutes=15)) is None
        cli = Cli(path)
        cli("poll", "--wait", "0", now="2021-11-19T08:00:00Z", code=1)
        assert "another poll cycle is still running (held by vc-admin-01:4242:0badc0de" in cli.outputs[-1]
        assert "nothing was polled" in cli.outputs[-1]
        assert len(hook.wait_for(2)) == 2
    with sqlite3.connect(f"file:{tmp_path / 'tracker.db'}?mode=ro", uri=True) as db:
        assert db.execute("SELECT status, count(*) FROM outbox GROUP BY status").fetchall() == [("sent", 2)]
        assert db.execute("SELECT count(*) FROM source WHERE last_fetch_at IS NOT NULL").fetchone() == (0,)
