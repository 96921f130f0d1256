"""The poll cycle: the one engine behind `tracker poll`, `tracker run` (each tick), the demo and the tests. A flat
pipeline of stages, each handing the next a value:

    plan (which pages, which validators; from the snapshot, read once)  -> fetch (a few at once)
      -> parse (tracker/cycle/parse.py: every answer becomes one `PageResult`; worker processes for many pages)
      -> decide (tracker/domain/decide.py, then corroboration.settle, over the catalog the cycle read)
      -> record (tracker/store/cycles.py, one transaction)  -> queue (the alerts of the new events, same transaction)

A cycle where every planned page answers 304 is recorded by the store's fast path without importing SQLAlchemy
(tracker/store/fastpath.py); the others go on in tracker/cycle/full.py, under the poll lease. One cycle runs at a
time across processes: the `poll` lease (tracker/store/leases.py), renewed while the cycle works. A cycle has a
deadline (`service.cycle_deadline`): the pages not fetched by then are abandoned for this cycle and recorded as
errors, the others are recorded as usual (tracker/cycle/fetch.py); leaving the HTTP client closes what the abandoned
fetches still hold open. When an availability source stops offering a build, the product's other availability
sources are fetched in the same cycle before it settles (corroboration on demand).
"""

import logging
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from tracker.config import Config
from tracker.cycle.fetch import Answer, Collected, Deadline, FetchStage
from tracker.cycle.options import Hooks, allowed_hosts, http_settings
from tracker.cycle.parse import parsing
from tracker.cycle.plan import Planned, Request, plan, quiet_possible
from tracker.cycle.report import PollReport, unchanged_report
from tracker.http import Document, Fetcher, NotModified, build_client
from tracker.store import fastpath
from tracker.store.snapshot import Snapshot

if TYPE_CHECKING:
    # SQLAlchemy and the store's ORM modules load only when the fast path cannot record
    from sqlalchemy import Engine

log = logging.getLogger(__name__)

__all__ = ["Hooks", "run_cycle"]


def run_cycle(config: Config, open_db: "Callable[[], Engine]", request: Request, hooks: Hooks = Hooks()) -> PollReport:
    """One cycle. `open_db` gives the database, migrated; it is called only when the fast path cannot record."""
    deadline = Deadline(config.service.cycle_deadline_seconds)  # the cycle's fetches end by then, in or not
    path = fastpath.sqlite_path(config.database)
    snapshot = _fast_snapshot(path, follows=config.http.follow_limit > 0)
    engine = None
    if snapshot is None:
        engine = open_db()
        from tracker.cycle.full import orm_snapshot  # lazy: the ORM path costs more than a cycle of unchanged pages

        snapshot = orm_snapshot(engine)
    pages = plan(config, snapshot, request)
    if not pages:
        return PollReport()
    with build_client(http_settings(config)) as client:
        fetcher = Fetcher(client, http_settings(config))
        parallel = config.http.politeness_delay <= 0
        stage = FetchStage(fetcher, parallel, deadline, allowed_hosts(config), watch=hooks.progress)
        another = path is not None and path.is_file() and fastpath.lease_held(path)
        # another cycle runs: fetch after it, not before
        answers = {} if another else stage.fetch(pages, heard=_ready_when_changed)
        if not another and _recorded_unchanged(config, snapshot, pages, answers, request.now):
            return unchanged_report([p.id for p in pages])
        # Many changed pages: parsed on the other cores while the database opens.
        with parsing(pages, answers, config.mask) as reader:
            engine = engine or open_db()
            from tracker.cycle.full import Inputs, run_locked  # lazy: the ORM path (see above)

            return run_locked(config, engine, Inputs(stage, request, snapshot, pages, answers, reader), hooks)


def _ready_when_changed(answer: Answer) -> None:
    """A page that changed needs the full path: load it (SQLAlchemy, the ORM) now, while the other pages are still
    fetched on their threads, rather than after them. A cycle where every page answers 304 never loads it."""
    if isinstance(answer, Document | Collected):
        import tracker.cycle.full  # noqa: F401  # lazy: the ORM path, only once a page has changed


def _fast_snapshot(path: Path | None, follows: bool) -> Snapshot | None:
    """The snapshot of a SQLite file read without the ORM; None when the ORM must read it (another database, or a
    file at an older schema, which the ORM migrates)."""
    if path is None:
        return None
    if not path.is_file():
        return Snapshot()  # a first poll: nothing stored yet; the pages are fetched before the database is made
    return fastpath.snapshot(path, follows)


def _recorded_unchanged(
    config: Config, snapshot: Snapshot, pages: list[Planned], answers: dict[str, Answer], now: datetime
) -> bool:
    """Every page answered 304 and the store's fast path could record that."""
    path = fastpath.sqlite_path(config.database)
    if path is None or not path.is_file() or not all(isinstance(a, NotModified) for a in answers.values()):
        return False
    if not quiet_possible(config, snapshot, pages):
        return False
    elapsed = {sid: a.elapsed_ms for sid, a in answers.items() if isinstance(a, NotModified)}
    return fastpath.record_unchanged(path, elapsed, now)
