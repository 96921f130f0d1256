"""What a poll cycle reads before it fetches anything: the stored sources with their validators, the sources with
a vanished row waiting for confirmation, and the facts that tier followed release notes. Plain values, produced by
the ORM (tracker/store/sources.py) or, for a SQLite file, by the standard library alone (tracker/store/fastpath.py):
the same values either way (tests/store/test_snapshot.py). This module imports no SQLAlchemy."""

from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property

from tracker.domain.catalog import BuildStatus, Health
from tracker.domain.tiers import NotesFacts
from tracker.domain.versions import Product

# How the store writes times into SQLite: naive UTC with microseconds (SQLAlchemy's SQLite DateTime format).
SQLITE_TIME = "%Y-%m-%d %H:%M:%S.%f"


@dataclass(frozen=True)
class StoredSource:
    id: str
    kind: str
    url: str  # as stored: a secret from ${VAR} is masked
    product: Product
    configured: bool
    active: bool
    health: Health
    last_fetch_at: datetime | None
    etag: str | None
    last_modified: str | None
    parent_id: str | None


BuildFacts = tuple[str, int, str | None, int | None, str | None, str, int | None, bool]


@dataclass(frozen=True)
class Snapshot:
    sources: dict[str, StoredSource] = field(default_factory=dict)
    pending: frozenset[str] = frozenset()  # sources missing a row, not yet confirmed gone
    # (product, build, line, update, release_date, status, replaced_by, has notices) of every build, read only
    # when release notes are followed: what tiers them.
    builds: tuple[BuildFacts, ...] = ()
    # The store's cycle generation when read (tracker/store/cycles.py `generation`): a cycle that planned from this
    # snapshot re-plans under the lease only when another cycle was recorded since. Not a fact of the catalog.
    generation: int | None = field(default=None, compare=False)

    @cached_property
    def notes(self) -> tuple[NotesFacts, ...]:
        return notes_facts(self.builds)

    def children(self, parent_id: str) -> list[StoredSource]:
        """The active release-notes pages followed from a KB source, in id order."""
        return sorted((s for s in self.sources.values() if s.parent_id == parent_id and s.active), key=lambda s: s.id)


def notes_facts(rows: tuple[BuildFacts, ...]) -> tuple[NotesFacts, ...]:
    """Tiering facts from build rows (product, build, line, update, release_date, status, replaced_by, notices)."""
    replacements = {row[6] for row in rows if row[6] is not None}
    return tuple(
        NotesFacts(
            product=Product(product),
            build=build,
            update_line=(line, update) if line is not None and update is not None else None,
            released=released,
            involved=status != BuildStatus.AVAILABLE or replaced_by is not None or build in replacements or notices,
        )
        for product, build, line, update, released, status, replaced_by, notices in rows
    )
