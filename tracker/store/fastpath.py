"""The store's standard-library path for SQLite files: read what a cycle plans with, and record a cycle where
every page answered 304, and list the builds (`tracker builds`), without importing SQLAlchemy (which alone costs
more than such a whole cycle, or such a listing).

Most polls find nothing new. Such a cycle needs no parser, no diff and no ORM: for each source it records a
`not_modified` fetch and marks the source healthy and seen. It rewrites no sighting: a present row's `last_seen`
is its source's last good poll (tracker/domain/catalog.py `Catalog`). The rows written are exactly those the ORM
path writes for a 304 (tests/store/test_fastpath.py compares whole rows); the table, lease and status names are
the ORM's own (tracker/store/models.py, leases.py).
"""

import json
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from tracker.domain.catalog import BuildStatus, Health
from tracker.domain.events import Confidence
from tracker.domain.outcomes import FetchOutcome
from tracker.domain.versions import Product
from tracker.store import POLL_LEASE, SCHEMA_HEAD, OutboxStatus
from tracker.store.holders import gone
from tracker.store.snapshot import SQLITE_TIME, Snapshot, StoredSource

if TYPE_CHECKING:
    from tracker.store.records import BuildRecord

LOCK_TIMEOUT = 10  # seconds to wait for another writer


def sqlite_path(url: str) -> Path | None:
    """The file of a plain SQLite URL; None for any other database (or an in-memory one, or one with options)."""
    if not url.startswith("sqlite:///") or url.startswith("sqlite:///:memory:") or "?" in url:
        return None
    return Path(url.removeprefix("sqlite:///")).expanduser()


_SOURCES = (
    "SELECT id, kind, url, product, configured, active, health, last_fetch_at, etag, last_modified, parent_id"
    " FROM source"
)
_TOP_SOURCES = _SOURCES + " WHERE parent_id IS NULL"
_BUILDS = 'SELECT product, build, line, "update", release_date, status, replaced_by, pull_notices FROM build'
_PENDING = "SELECT DISTINCT source_id FROM sighting WHERE misses > 0 AND gone = 0"
_GENERATION = "SELECT max(id) FROM fetch"  # as tracker/store/cycles.py `generation`


def snapshot(path: Path, follows: bool = True) -> Snapshot | None:
    """What the cycle plans with; None when the file is not at the newest schema (the ORM path migrates it).
    `follows`: the cycle follows release notes; a config that follows none (`follow_limit: 0`) reads neither the
    followed pages nor the build facts that tier them (50 KB tables link to 7,500 pages)."""
    try:
        with sqlite3.connect(path, timeout=LOCK_TIMEOUT) as db:
            if db.execute("SELECT version_num FROM alembic_version").fetchone() != (SCHEMA_HEAD,):
                return None
            generation = db.execute(_GENERATION).fetchone()[0]  # first: a cycle recorded meanwhile moves it
            sources = {row[0]: _source(row) for row in db.execute(_SOURCES if follows else _TOP_SOURCES)}
            pending = frozenset(r[0] for r in db.execute(_PENDING))
            tiers = follows and any(s.parent_id is not None for s in sources.values())
            builds = tuple((*r[:7], r[7] not in (None, "[]")) for r in db.execute(_BUILDS)) if tiers else ()
    except sqlite3.Error:
        return None
    return Snapshot(sources, pending, builds, generation)


def _source(row: tuple) -> StoredSource:  # type: ignore[type-arg]
    return StoredSource(
        id=row[0],
        kind=row[1],
        url=row[2],
        product=Product(row[3]),
        configured=bool(row[4]),
        active=bool(row[5]),
        health=Health(row[6]),
        last_fetch_at=_moment(row[7]),
        etag=row[8],
        last_modified=row[9],
        parent_id=row[10],
    )


def _moment(text: str | None) -> datetime | None:
    return datetime.strptime(text, SQLITE_TIME).replace(tzinfo=UTC) if text else None


def _text(moment: datetime) -> str:
    return moment.astimezone(UTC).replace(tzinfo=None).strftime(SQLITE_TIME)


def lease_held(path: Path) -> bool:
    """Another process runs a poll cycle (the real clock, as leases use)."""
    try:
        with sqlite3.connect(path, timeout=LOCK_TIMEOUT) as db:
            return _lease_held(db)
    except sqlite3.Error:
        return False


def _lease_held(db: sqlite3.Connection) -> bool:
    """A live process holds the poll lease: unexpired, and not a process of this host that is gone (as leases.py)."""
    query = "SELECT holder FROM lease WHERE name = ? AND holder IS NOT NULL AND expires_at > ?"
    try:
        row = db.execute(query, (POLL_LEASE, _text(datetime.now(UTC)))).fetchone()
    except sqlite3.Error:  # an older schema without leases: the ORM path migrates it
        return False
    return row is not None and not gone(row[0])


def outbox_idle(database: str, now: datetime) -> bool:
    """True only when the database is a SQLite file whose outbox has nothing due: then the outbox worker (and the
    ORM it loads) can be skipped. Any doubt says False."""
    path = sqlite_path(database)
    return path is not None and path.is_file() and not _outbox_due(path, now)


def _outbox_due(path: Path, now: datetime) -> bool:
    """A message waits to be sent, or is being sent (its claim may have gone stale: the outbox's timeout and clock
    decide that, tracker/store/outbox.py `claimable`): the ORM's outbox worker may have work."""
    query = "SELECT 1 FROM outbox WHERE (status = ? AND next_attempt_at <= ?) OR status = ? LIMIT 1"
    try:
        with sqlite3.connect(path, timeout=LOCK_TIMEOUT) as db:
            pending, sending = OutboxStatus.PENDING.value, OutboxStatus.SENDING.value
            return db.execute(query, (pending, _text(now), sending)).fetchone() is not None
    except sqlite3.Error:
        return True  # cannot tell: let the outbox worker look


def record_unchanged(path: Path, elapsed_ms: dict[str, int], now: datetime) -> bool:
    """What the ORM path writes for healthy sources answering 304, in one transaction; False (nothing written)
    when another process began a poll cycle while the pages were fetched."""
    db = sqlite3.connect(path, timeout=LOCK_TIMEOUT, isolation_level=None)
    try:
        db.execute("BEGIN IMMEDIATE")
        if _lease_held(db):
            db.execute("ROLLBACK")
            return False
        try:
            _write_not_modified(db, elapsed_ms, _text(now))
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")
        return True
    finally:
        db.close()


def _write_not_modified(db: sqlite3.Connection, elapsed_ms: dict[str, int], stamp: str) -> None:
    for source_id, elapsed in elapsed_ms.items():
        db.execute(
            "INSERT INTO fetch (source_id, started_at, outcome, http_status, elapsed_ms, bytes, rows, error, skipped)"
            " VALUES (?, ?, ?, 304, ?, 0, 0, NULL, ?)",
            (source_id, stamp, FetchOutcome.NOT_MODIFIED.value, elapsed, json.dumps([])),
        )
        db.execute(
            "UPDATE source SET last_fetch_at = ?, last_success_at = ?, baselined = 1, health = ?,"
            " failures = 0 WHERE id = ?",
            (stamp, stamp, Health.OK.value, source_id),
        )


# `tracker builds` reads these two tables only: the builds, and which sources list each now (misses == 0, as
# tracker/domain/catalog.py `Sighting.present`; tracker/listings.py `listed_by` reads the same from a catalog).
_LISTED = (
    'SELECT product, build, release_name, first_seen, line, "update", letter, release_date, alt_builds, notes_url,'
    " status, pull_confidence, pull_notices, replaced_by FROM build"
)
_LISTING = "SELECT product, build, source_id FROM sighting WHERE misses = 0"


def listed_builds(path: Path) -> tuple[list["BuildRecord"], dict[tuple[str, int], list[str]]] | None:
    """The stored builds and the sources listing each now, as the ORM path reads them (tests/store/test_fastpath.py
    compares them); None when the file is missing or not at the newest schema (the ORM path creates or migrates
    it). Listing the catalog is the first thing a new user runs: without SQLAlchemy it takes a third of the time."""
    if not path.is_file():
        return None
    try:
        with sqlite3.connect(path, timeout=LOCK_TIMEOUT) as db:
            if db.execute("SELECT version_num FROM alembic_version").fetchone() != (SCHEMA_HEAD,):
                return None
            rows = [_build(row) for row in db.execute(_LISTED)]
            listing: dict[tuple[str, int], list[str]] = {}
            for product, build, source_id in db.execute(_LISTING):
                listing.setdefault((product, build), []).append(source_id)
    except sqlite3.Error:
        return None
    return rows, listing


def _build(row: tuple) -> "BuildRecord":  # type: ignore[type-arg]
    from tracker.store.records import BuildRecord  # lazy: records load domain.alerts, which a quiet cycle never needs

    product, build, name, first_seen, line, update, letter, released, alt, notes, status, confidence, notices, by = row
    return BuildRecord(
        product=Product(product),
        build=build,
        release_name=name,
        first_seen=datetime.strptime(first_seen, SQLITE_TIME).replace(tzinfo=UTC),
        line=line,
        update=update,
        letter=letter,
        release_date=released,
        alt_builds=tuple(json.loads(alt)),
        notes_url=notes,
        status=BuildStatus(status),
        pull_confidence=Confidence(confidence) if confidence else None,
        pull_notices=tuple(json.loads(notices)),
        replaced_by=by,
    )
