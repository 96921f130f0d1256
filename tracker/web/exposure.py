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
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from fnmatch import fnmatchcase
from functools import cached_property
from typing import Any

from sqlalchemy import Engine

from tracker.config import Config
from tracker.domain.exposure import Exposure
from tracker.domain.fixes import Severity
from tracker.filters import EXPOSURE, FilterRefused, check

MAX_AGE = timedelta(minutes=5)
RECHECK = 2.0  # seconds an assessment is served without looking at the data version again
log = logging.getLogger(__name__)

SortKey = tuple[Any, ...]
_SORTS: dict[str, Callable[[Exposure], SortKey]] = {
    "severity": lambda e: (-e.severity.rank, e.asset.name.casefold(), e.asset.kind.value),
    "asset": lambda e: (e.asset.name.casefold(), e.asset.kind.value),
    "cluster": lambda e: (e.asset.cluster.casefold(), -e.severity.rank, e.asset.name.casefold(), e.asset.kind.value),
    "vcenter": lambda e: (e.asset.vcenter.casefold(), -e.severity.rank, e.asset.name.casefold(), e.asset.kind.value),
    "build": lambda e: (e.asset.build or 0, e.asset.name.casefold(), e.asset.kind.value),
}
SORTS = tuple(_SORTS)  # severity (worst first) is the default


class BadCursor(ValueError):
    """A cursor this listing did not hand out (or from another sort)."""


@dataclass(frozen=True)
class ExposureFilter:
    """The CLI's `tracker exposure` filters and the page's: each empty one selects everything. Globs match
    case-insensitively (`prod-*`)."""

    status: str = ""  # pulled, vulnerable, end_of_support ... (tracker.domain.exposure.Status)
    severity: str = ""  # at least this bad: none, low, moderate, important, critical
    cluster: str = ""
    vcenter: str = ""
    tag: str = ""
    kind: str = ""  # esxi, vcenter, vm
    q: str = ""  # part of the asset's name

    def problems(self) -> list[str]:
        """What is wrong with the values, field by field, in the words of their one definition (tracker/filters.py)."""
        try:
            check(EXPOSURE, {"status": self.status, "severity": self.severity, "kind": self.kind})
        except FilterRefused as refused:
            return [str(p) for p in refused.problems]
        return []

    def selects(self, e: Exposure) -> bool:
        asset = e.asset
        return (
            (not self.status or any(s.value == self.status for s in e.statuses))
            and (not self.severity or e.severity.rank >= Severity(self.severity).rank)
            and _glob(self.cluster, asset.cluster)
            and _glob(self.vcenter, asset.vcenter)
            and (not self.tag or any(_glob(self.tag, t) for t in asset.tags))
            and (not self.kind or asset.kind.value == self.kind)
            and (not self.q or self.q.casefold() in asset.name.casefold())
        )


def _glob(pattern: str, value: str) -> bool:
    return not pattern or fnmatchcase(value.casefold(), pattern.casefold())


@dataclass
class Selection:
    """One filter and sort over one assessment: the rows in order, and their keys for the cursor's bisect."""

    rows: list[Exposure]
    keys: list[SortKey]
    sort: str

    def page(self, cursor: str | None, limit: int) -> tuple[list[Exposure], str | None]:
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
    """One assessment of every asset, worst first, with the version of the data it was made from."""

    version: tuple[object, ...]
    at: datetime
    rows: list[Exposure]
    _selections: dict[tuple[ExposureFilter, str], Selection] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _json: dict[int, str] = field(default_factory=dict)  # id(row) -> its JSON, made once per assessment

    def rows_json(self, rows: list[Exposure]) -> str:
        """The rows as a JSON array of the listings' dicts: each row encoded once per assessment, so listing the
        estate page by page again costs a join (the rows stay alive as long as this assessment: ids are stable)."""
        from tracker.listings import exposure_item

        encoded = self._json
        for row in rows:
            if id(row) not in encoded:
                encoded[id(row)] = json.dumps(exposure_item(row), separators=(",", ":"))
        return "[" + ",".join(encoded[id(row)] for row in rows) + "]"

    @cached_property
    def by_name(self) -> dict[str, list[Exposure]]:
        found: dict[str, list[Exposure]] = {}
        for row in self.rows:
            found.setdefault(row.asset.name.casefold(), []).append(row)
        return found

    def select(self, wanted: ExposureFilter, sort: str) -> Selection:
        """The rows `wanted` selects in `sort` order; the last few selections are kept (the pages of one listing)."""
        with self._lock:
            found = self._selections.get((wanted, sort))
            if found is None:
                key = _SORTS[sort]
                rows = sorted((e for e in self.rows if wanted.selects(e)), key=key)
                found = Selection(rows, [key(e) for e in rows], sort)
                if len(self._selections) >= 16:
                    self._selections.pop(next(iter(self._selections)))
                self._selections[(wanted, sort)] = found
            return found

    def counts(self) -> dict[str, int]:
        """Assets by severity."""
        found = {s.value: 0 for s in Severity}
        for row in self.rows:
            found[row.severity.value] += 1
        return found


class ExposureCache:
    """The current assessment; made again when the data changed or it grew old. One assessment at a time."""

    def __init__(self, config: Config, engine: Engine, clock: Callable[[], datetime]) -> None:
        self.config, self.engine, self.clock = config, engine, clock
        self._current: Assessed | None = None
        self._checked = 0.0  # time.monotonic() of the last look at the data version
        self._lock = threading.Lock()

    def warm(self) -> None:
        """Assess now, on a thread of its own, so the first page does not wait for it (100,000 hosts: seconds).
        The rows are encoded by the first listing: encoding them here too cost 9 MiB idle for 5,000 hosts."""
        threading.Thread(target=self._warm, name="exposure warm-up", daemon=True).start()

    def _warm(self) -> None:
        from tracker.jobs.poll import give_memory_back

        try:
            self.current()
            give_memory_back()  # the rows read to assess them: a server idles for most of its life
        except Exception:
            log.warning("the exposure warm-up failed", exc_info=True)

    def changed(self) -> None:
        """This process changed what an assessment reads (a write through the web): look again at the next read."""
        with self._lock:
            self._checked = 0.0

    def current(self) -> Assessed:
        from tracker.store.db import session_scope
        from tracker.store.reads import data_version

        now = self.clock()
        with self._lock:
            held = self._current
            if held is not None and time.monotonic() - self._checked < RECHECK and held.at <= now < held.at + MAX_AGE:
                return held  # the pages of one listing, fetched one after another, need not look again
            with session_scope(self.engine) as session:
                version = data_version(session)
            self._checked = time.monotonic()
            if held is None or held.version != version or not (held.at <= now < held.at + MAX_AGE):
                from tracker.jobs.inventory import assess_exposure

                held = Assessed(version, now, assess_exposure(self.config, self.engine, now))
                self._current = held
            return held
