"""How often a followed release-notes page is fetched again (issue 9: a cycle's cost stays bounded).

The real KBs link some 350 release-notes pages; most of them never change again. A page is re-fetched:
- every cycle (with its KB table): notes of a build released in the last 90 days, of one involved in a pull, a
  reissue or a standing notice, and of a build the catalog cannot place (when in doubt, look);
- daily: the newest build of each update line (its notes are where a late "removed" note lands);
- weekly: the rest.
A page never fetched yet is new, and the follow limit (config `http.follow_limit`) caps those per source and cycle.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum

from tracker.domain.versions import Product

RECENT = timedelta(days=90)


class Tier(StrEnum):
    EVERY_CYCLE = "every-cycle"
    DAILY = "daily"
    WEEKLY = "weekly"

    @property
    def every(self) -> timedelta:
        """How long a page of this tier rests between fetches."""
        return _REST[self]


_REST = {Tier.EVERY_CYCLE: timedelta(0), Tier.DAILY: timedelta(days=1), Tier.WEEKLY: timedelta(days=7)}


@dataclass(frozen=True)
class NotesFacts:
    """What tiering needs to know of one catalog build."""

    product: Product
    build: int
    update_line: tuple[str, int] | None  # ("7.0", 3) for every 7.0 U3 build; None when the release is unknown
    released: str | None  # ISO date
    involved: bool  # pulled, a reissue, replaced, or a pull notice stands for it


def tiers(builds: Iterable[NotesFacts], now: datetime) -> dict[tuple[Product, int], Tier]:
    """The tier of every build's release notes."""
    facts = list(builds)
    newest: dict[tuple[Product, tuple[str, int]], int] = {}
    for fact in facts:
        if fact.update_line is not None:
            key = (fact.product, fact.update_line)
            newest[key] = max(newest.get(key, 0), fact.build)
    return {(f.product, f.build): _tier(f, newest, now) for f in facts}


def _tier(fact: NotesFacts, newest: dict[tuple[Product, tuple[str, int]], int], now: datetime) -> Tier:
    if fact.involved or fact.update_line is None or _recent(fact.released, now):
        return Tier.EVERY_CYCLE
    if newest.get((fact.product, fact.update_line)) == fact.build:
        return Tier.DAILY
    return Tier.WEEKLY


def _recent(released: str | None, now: datetime) -> bool:
    if released is None:
        return True  # no date: it may be brand new
    try:
        day = date.fromisoformat(released[:10])
    except ValueError:
        return True
    return now.date() - day <= RECENT


def due(tier: Tier, last_fetch_at: datetime | None, now: datetime) -> bool:
    """A followed page is fetched when never fetched, or when its tier's rest is over. Pages of the every-cycle tier
    are fetched whenever their KB table is."""
    return last_fetch_at is None or now - last_fetch_at >= tier.every
