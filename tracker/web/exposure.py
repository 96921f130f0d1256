"""Every asset's exposure, assessed once per change of the data and kept in memory: the exposure page and the API
filter, sort and page it without assessing again (100,000 hosts list page by page, each page a bisect and a slice).

The assessment is the CLI's (`jobs.assess_exposure`); it is done again when the data version changes
(store/reads.py `data_version`: events, builds, sightings, assets, advisories, snoozes) or when it is older than
`MAX_AGE` (the clock moves findings too: a cooldown ends, a line reaches its end of support). The version is
looked at once per `RECHECK` seconds at most: a change shows within two seconds. Pages are keyed by
the sort key of the last row shown, so a re-assessment between two pages neither repeats nor skips a row that
kept its place."""

import base64
import binascii
import json
import logging
import threading
import time
from bisect import bisect_right
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cached_property
from typing import Any, cast
from urllib.parse import urlencode

from sqlalchemy import Engine

from tracker.config import Config
from tracker.domain.exposure import Exposure
from tracker.domain.exposure_filter import ExposureFilter, Listed, severity_counts
from tracker.jobs.inventory import assess_exposure
from tracker.listings import ExposureRows
from tracker.store.db import session_scope
from tracker.store.reads import data_version
from tracker.web.exposure_store import StoredRow, load, path_of, save

MAX_AGE = timedelta(minutes=5)
RECHECK = 2.0  # seconds an assessment is served without looking at the data version again
QUIET = 2.0  # seconds without a read before a background assessment starts (at most QUIET_MAX after it was due)
QUIET_MAX = 30.0
log = logging.getLogger(__name__)

SortKey = tuple[Any, ...]
_SORTS: dict[str, Callable[[Listed], SortKey]] = {
    "severity": lambda e: (-e.severity.rank, e.asset.name.casefold(), e.asset.kind.value),
    "asset": lambda e: (e.asset.name.casefold(), e.asset.kind.value),
    "cluster": lambda e: (e.asset.cluster.casefold(), -e.severity.rank, e.asset.name.casefold(), e.asset.kind.value),
    "vcenter": lambda e: (e.asset.vcenter.casefold(), -e.severity.rank, e.asset.name.casefold(), e.asset.kind.value),
    "build": lambda e: (e.asset.build or 0, e.asset.name.casefold(), e.asset.kind.value),
}
SORTS = tuple(_SORTS)  # severity (worst first) is the default


class BadCursor(ValueError):
    """A cursor this listing did not hand out (or from another sort)."""


@dataclass
class Selection:
    """One filter and sort over one assessment: the rows in order, and their keys for the cursor's bisect."""

    rows: list[Listed]
    keys: list[SortKey]
    sort: str

    def page(self, cursor: str | None, limit: int) -> tuple[list[Listed], str | None]:
        """At most `limit` rows after the cursor's; the cursor of the next page, None after the last."""
        try:
            start = bisect_right(self.keys, decode_cursor(cursor, self.sort)) if cursor else 0
        except TypeError:  # parts that do not compare with this sort's
            raise BadCursor(f"cursor: not a cursor this listing handed out: {(cursor or '')[:40]!r}") from None
        rows = self.rows[start : start + limit]
        more = start + limit < len(self.rows)
        return rows, encode_cursor(self.sort, self.keys[start + limit - 1]) if more and rows else None


def encode_cursor(sort: str, key: SortKey) -> str:
    """The last row's sort key, with the sort's name: opaque to clients, checked when it comes back."""
    text = json.dumps([sort, *key], separators=(",", ":"))
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, sort: str) -> SortKey:
    try:
        key = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        key = None
    if not isinstance(key, list) or not key:
        raise BadCursor(f"cursor: not a cursor this listing handed out: {cursor[:40]!r}")
    if key[0] != sort:
        raise BadCursor(f"cursor: from the listing sorted by {str(key[0])[:20]!r}, not {sort!r}; start again")
    return tuple(key[1:])


@dataclass
class Assessed:
    """One assessment of every asset, worst first, with the version of the data it was made from; or the listing
    a previous run kept (`stored`: its rows are StoredRow, enough for the listing, its filters and its counts)."""

    version: object
    at: datetime
    rows: Sequence[Listed]
    stored: bool = False
    _selections: dict[tuple[ExposureFilter, str], Selection] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _counts: dict[str, int] | None = None
    _encoder: ExposureRows = field(default_factory=ExposureRows)
    _pieces: dict[int, tuple[str, str]] = field(default_factory=dict)  # id(row) -> its head and shared findings

    @property
    def exposures(self) -> list[Exposure]:
        """The rows as assessed: the pages that read every finding ask `ExposureCache.current(full=True)`."""
        if self.stored:
            raise RuntimeError("a stored listing has no findings beyond its rows' JSON")
        return cast(list[Exposure], self.rows)

    def rows_json(self, rows: list[Listed]) -> str:
        """The rows as a JSON array of the listings' dicts (`exposure_item`), encoded when asked: what rows share
        (their build's findings) is encoded once per assessment, so nothing is kept per row."""
        pieces = ["["]
        with self._lock:
            known = self._pieces
            for row in rows:
                found = known.get(id(row))
                if found is None:
                    found = known[id(row)] = self._encode(row)
                pieces += (*found, ",")
        pieces[-1] = "]"  # the last comma, or "[" itself when no row
        return "".join(pieces) if rows else "[]"

    def _encode(self, row: Listed) -> tuple[str, str]:
        """A row's JSON as its own head and its shared findings (kept per row once listed: the head is small, the
        findings shared, so listing the estate again costs a join; ids are stable while this assessment lives)."""
        release, tail = row.parts() if isinstance(row, StoredRow) else self._encoder.parts(cast(Exposure, row))
        return ExposureRows.head(row.asset, release), tail

    @cached_property
    def by_name(self) -> dict[str, list[Exposure]]:
        found: dict[str, list[Exposure]] = {}
        for row in self.exposures:
            found.setdefault(row.asset.name.casefold(), []).append(row)
        return found

    def select(self, wanted: ExposureFilter, sort: str) -> Selection:
        """The rows `wanted` selects in `sort` order; the last few selections are kept (the pages of one listing)."""
        with self._lock:
            found = self._selections.get((wanted, sort))
            if found is None:
                key = _SORTS[sort]
                rows = sorted(wanted.select(self.rows), key=key)
                found = Selection(rows, [key(e) for e in rows], sort)
                if len(self._selections) >= 16:
                    self._selections.pop(next(iter(self._selections)))
                self._selections[(wanted, sort)] = found
            return found

    def counts(self) -> dict[str, int]:
        """Assets by severity, exactly (the overview's cards, `/metrics`): `severity_counts`, once per assessment."""
        with self._lock:
            if self._counts is None:
                self._counts = {s.value: n for s, n in severity_counts(self.rows).items()}
            return self._counts


def severity_cards(assessed: Assessed) -> list[dict[str, Any]]:
    """The overview's cards: the assets of each severity, exactly, and the link to the page listing those very rows
    (the count is `ExposureFilter(severity=...).count`, the page's total the same filter's rows)."""
    cards = []
    for severity, count in assessed.counts().items():
        query = urlencode(ExposureFilter(severity=severity).query())
        cards.append({"severity": severity, "label": severity, "count": count, "href": f"/exposure?{query}"})
    return cards


class ExposureCache:
    """The current assessment, served stale while the next is made (stale-while-revalidate): when the data changed
    or the assessment grew old, the pages keep showing the one held, saying when it was made, and a new one is made
    on a thread of its own, once no page was read for a moment (the pages of a listing are not slowed by it). Only
    the first read (nothing held yet) and the read after a write through this process (its writer expects to see
    it) wait for an assessment. One assessment at a time."""

    def __init__(self, config: Config, engine: Engine, clock: Callable[[], datetime]) -> None:
        self.config, self.engine, self.clock = config, engine, clock
        self._current: Assessed | None = None
        self._checked = 0.0  # time.monotonic() of the last look at the data version
        self._wait = False  # a write through this process: the next read waits for a fresh assessment
        self._lock = threading.Lock()  # guards the fields above
        self._assessing = threading.Lock()  # held while an assessment is made
        self._read = threading.Event()  # set by every read: a background assessment waits for a quiet moment
        self.refreshing = False  # a newer assessment is being made on a background thread
        self._stored = path_of(engine)  # where each background assessment's listing is kept for the next start

    def warm(self) -> None:
        """Hold the listing the last run kept (a file beside the database: tracker/web/exposure_store.py), then
        assess now, on a thread of its own, so the first page does not wait for it (100,000 hosts: seconds)."""
        listing = load(self._stored) if self._stored else None
        with self._lock:
            if listing is not None and self._current is None:
                self._current = Assessed(listing.version, listing.at, listing.rows, stored=True)
        self.refreshing = True
        threading.Thread(target=self._refresh, name="exposure warm-up", daemon=True).start()

    def changed(self) -> None:
        """This process changed what an assessment reads (a write through the web): the next read waits for it."""
        with self._lock:
            self._checked, self._wait = 0.0, True

    def current(self, full: bool = False) -> Assessed:
        """The assessment to show: the one held unless nothing is held, this process just wrote, or `full` (every
        finding, not only the listing) is asked of a stored listing; a stale one starts the next in the background."""
        self._read.set()
        with self._lock:
            held, wait = self._current, self._wait or (full and self._current is not None and self._current.stored)
            look = held is None or wait or time.monotonic() - self._checked >= RECHECK
            if look:
                self._checked = time.monotonic()
        if held is not None and not look:
            return held
        version = self._version()
        if held is not None and not wait and held.version == version and self._young(held):
            return held
        if held is None or wait:
            return self._assess(version)
        with self._lock:
            start, self.refreshing = not self.refreshing, True
        if start:
            threading.Thread(target=self._refresh, name="exposure refresh", daemon=True).start()
        return held

    def _young(self, held: Assessed) -> bool:
        return held.at <= self.clock() < held.at + MAX_AGE

    def _version(self) -> tuple[object, ...]:
        with session_scope(self.engine) as session:
            return data_version(session)

    def _assess(self, version: tuple[object, ...]) -> Assessed:
        """A new assessment of the data at `version` (or later), unless one at that version was made meanwhile."""

        with self._assessing:
            with self._lock:
                held, self._wait = self._current, False
            if held is not None and not held.stored and held.version == version and self._young(held):
                return held
            now = self.clock()
            made = Assessed(version, now, assess_exposure(self.config, self.engine, now))
            with self._lock:
                self._current = made
            return made

    def _quiet(self) -> None:
        """Wait until no page was read for QUIET seconds (at most QUIET_MAX): the pages of a listing being read go
        on from the assessment held without sharing the interpreter with the one that will replace it."""
        deadline = time.monotonic() + QUIET_MAX
        while time.monotonic() < deadline:
            self._read.clear()
            if not self._read.wait(QUIET):
                return

    def _refresh(self) -> None:
        """The background assessment (the warm-up, or a stale one's successor), then memory back to the system."""
        # lazy: give_memory_back lives with the poll use case, which the app does not otherwise load
        from tracker.jobs.poll import give_memory_back

        try:
            if self._current is not None:
                self._quiet()
            made = self._assess(self._version())
            if self._stored is not None:
                self._quiet()  # a first listing may be under way: keep the next start's copy once it is read
                save(self._stored, made.version, made.at, made.exposures)
            give_memory_back()  # the rows read to assess them: a server idles for most of its life
        except Exception:
            log.warning("the exposure assessment failed; the last one is still shown", exc_info=True)
        finally:
            self.refreshing = False
