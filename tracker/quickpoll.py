"""The fast path of `tracker poll` for a cycle where nothing changed: every page answers 304.

Most polls find nothing new. Such a cycle needs no parser, no diff and no ORM: for each source it records a
`not_modified` fetch, marks the source healthy and seen, and refreshes the `last_seen` of the rows it lists. Importing
SQLAlchemy and SQLModel alone costs more than the whole cycle, so this path talks to the SQLite file with the
standard library's sqlite3, and only when it can prove the cycle is such a cycle:

- the database is a SQLite file at the newest schema revision, and every source of the cycle is known, healthy,
  configured as the config says, single-document, fetched before and has no vanished row waiting for confirmation;
- no delivery is due in the outbox, and no other process is running a poll cycle (the `poll` lease, checked again
  in the transaction that records the cycle);
- every page answers 304.

Anything else returns the answers fetched so far to the full path (tracker/polling.py), which uses them instead of
fetching again. The rows written here are exactly those the full path writes for a 304 (tests/test_quickpoll.py
compares both).
"""

import json
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tracker.config import Config, user_agent
from tracker.http import Document, Fetcher, FetchError, HttpSettings, NotModified, Validators, build_client
from tracker.sources import REGISTRY
from tracker.store import SCHEMA_HEAD

Answer = Document | NotModified | FetchError


@dataclass
class QuickResult:
    done: bool  # the cycle was recorded here; nothing is left to do
    sources: list[str] = field(default_factory=list)
    answers: dict[str, Answer] = field(default_factory=dict)  # fetched already, for the full path otherwise


@dataclass(frozen=True)
class _Source:
    id: str
    url: str
    etag: str | None
    last_modified: str | None


def try_unchanged_cycle(config: Config, now: datetime) -> QuickResult:
    """Record the cycle here when nothing changed; otherwise hand what was fetched to the full path."""
    path = _sqlite_path(config.database)
    if path is None:
        return QuickResult(False)
    if not path.is_file():  # a first poll: fetch the pages at once all the same, the full path parses them
        return QuickResult(False, answers=_fetch_all(config, _configured(config, {})))
    with sqlite3.connect(path, timeout=10) as db:
        if _lease_held(db):  # another process runs a cycle: the full path waits for it, then fetches itself
            return QuickResult(False)
        sources = _eligible(db, config, now)
        known = _rows(db)
    if sources is None:
        return QuickResult(False, answers=_fetch_all(config, _configured(config, known)))
    answers = _fetch_all(config, sources)
    if not all(isinstance(a, NotModified) for a in answers.values()):
        return QuickResult(False, answers=answers)
    db = sqlite3.connect(path, timeout=10, isolation_level=None)
    try:
        if not _record(db, answers, now):
            return QuickResult(False)
    finally:
        db.close()
    return QuickResult(True, [s.id for s in sources])


def _sqlite_path(url: str) -> Path | None:
    if not url.startswith("sqlite:///") or url.startswith("sqlite:///:memory:") or "?" in url:
        return None
    return Path(url.removeprefix("sqlite:///")).expanduser()


def _rows(db: sqlite3.Connection) -> dict[str, tuple]:  # type: ignore[type-arg]
    try:
        return {r[0]: r for r in db.execute(_SOURCES)}
    except sqlite3.Error:
        return {}


def _configured(config: Config, known: dict[str, tuple]) -> list[_Source]:  # type: ignore[type-arg]
    """The configured single-document sources with the validators stored for them, for prefetching."""
    result = []
    for source in config.sources:
        if REGISTRY[source.kind].multi_document:
            continue
        row = known.get(source.id)
        same = row is not None and row[2] == config.mask(source.url)
        result.append(_Source(source.id, source.url, row[8] if same else None, row[9] if same else None))  # type: ignore[index]
    return result


_SOURCES = (
    "SELECT id, kind, url, product, configured, active, health, last_fetch_at, etag, last_modified,"
    " parent_id FROM source"
)


def _eligible(db: sqlite3.Connection, config: Config, now: datetime) -> list[_Source] | None:
    try:
        if db.execute("SELECT version_num FROM alembic_version").fetchone() != (SCHEMA_HEAD,):
            return None
        rows = {r[0]: r for r in db.execute(_SOURCES)}
        pending = {r[0] for r in db.execute("SELECT DISTINCT source_id FROM sighting WHERE misses > 0 AND gone = 0")}
        if config.channels and _outbox_due(db, now):
            return None
    except sqlite3.Error:
        return None
    return _cycle_sources(config, rows, pending)


def _cycle_sources(config: Config, rows: dict[str, tuple], pending: set[str]) -> list[_Source] | None:  # type: ignore[type-arg]
    """The sources a full cycle would poll, in its order, or None when one of them needs the full path."""
    result: list[_Source] = []
    for source in config.sources:
        row = rows.get(source.id)
        expected = (source.kind, config.mask(source.url), source.product, 1, 1)
        if row is None or row[1:6] != expected or REGISTRY[source.kind].multi_document:
            return None
        result.append(_Source(source.id, source.url, row[8], row[9]))
        if source.follow_links and REGISTRY[source.kind].role.value == "index":
            result += [
                _Source(r[0], r[2], r[8], r[9]) for r in sorted(rows.values()) if r[10] == source.id and r[5] == 1
            ]
    for item in result:
        row = rows[item.id]
        if row[6] != "ok" or row[7] is None or item.id in pending:
            return None
    return result


def _lease_held(db: sqlite3.Connection) -> bool:
    """Another process runs a poll cycle (tracker/store/leases.py; the real clock, as leases use)."""
    query = "SELECT 1 FROM lease WHERE name = 'poll' AND holder IS NOT NULL AND expires_at > ?"
    try:
        return db.execute(query, (_text(datetime.now(UTC)),)).fetchone() is not None
    except sqlite3.Error:  # an older schema without leases: the full path migrates it
        return False


def _outbox_due(db: sqlite3.Connection, now: datetime) -> bool:
    stale = _text(now - timedelta(minutes=10))
    query = (
        "SELECT 1 FROM outbox WHERE (status = 'pending' AND next_attempt_at <= ?)"
        " OR (status = 'sending' AND claimed_at < ?) LIMIT 1"
    )
    return db.execute(query, (_text(now), stale)).fetchone() is not None


def _fetch_all(config: Config, sources: list[_Source]) -> dict[str, Answer]:
    settings = HttpSettings(
        user_agent(config), config.http.timeout, config.http.max_bytes, config.http.politeness_delay
    )
    with build_client(settings) as client:
        fetcher = Fetcher(client, settings)

        def fetch(source: _Source) -> Answer:
            try:
                return fetcher.get(source.url, Validators(source.etag, source.last_modified))
            except FetchError as error:
                return error

        if config.http.politeness_delay > 0:  # one request at a time, spaced, as the full path does
            return {source.id: fetch(source) for source in sources}
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=PARALLEL_REQUESTS) as pool:  # no gap asked for: a few at once
            return dict(zip([s.id for s in sources], pool.map(fetch, sources), strict=True))


PARALLEL_REQUESTS = 4


def _record(db: sqlite3.Connection, answers: dict[str, Answer], now: datetime) -> bool:
    """What the full path writes for a healthy source answering 304, for every source, in one transaction; False
    (nothing written) when another process began a poll cycle while the pages were fetched."""
    db.execute("BEGIN IMMEDIATE")
    if _lease_held(db):
        db.execute("ROLLBACK")
        return False
    try:
        _write_not_modified(db, answers, _text(now))
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")
    return True


def _write_not_modified(db: sqlite3.Connection, answers: dict[str, Answer], stamp: str) -> None:
    for source_id, answer in answers.items():
        elapsed = answer.elapsed_ms if isinstance(answer, NotModified) else 0
        db.execute(
            "INSERT INTO fetch (source_id, started_at, outcome, http_status, elapsed_ms, bytes, rows, error, skipped)"
            " VALUES (?, ?, 'not_modified', 304, ?, 0, 0, NULL, ?)",
            (source_id, stamp, elapsed, json.dumps([])),
        )
        db.execute(
            "UPDATE source SET last_fetch_at = ?, last_success_at = ?, baselined = 1, health = 'ok',"
            " failures = 0 WHERE id = ?",
            (stamp, stamp, source_id),
        )
        db.execute("UPDATE sighting SET last_seen = ? WHERE source_id = ? AND misses = 0", (stamp, source_id))


def _text(moment: datetime) -> str:
    """How the store writes times: naive UTC with microseconds."""
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")


def summary(result: QuickResult, as_json: bool, write: Callable[[str], None]) -> None:
    """The same report `tracker poll` prints for a cycle where every source answered 304."""
    count = len(result.sources)
    if as_json:
        outcomes: list[dict[str, object]] = [
            {"source_id": s, "outcome": "not_modified", "rows": 0, "skipped": [], "error": None} for s in result.sources
        ]
        write(json.dumps({"sources": outcomes, "counts": {"not_modified": count}, "events": []}, indent=2))
        return
    write(f"polled {count} source(s): {count} not modified\nno new events")
