"""Events: what the tracker tells people. Immutable facts with their evidence.

An event's kind, build and time never change. A later observation may raise a pull's confidence or add evidence
(PRODUCT.md 4: "one pulled event per build"), which the diff expresses as an `EventUpdate`, never a second event.
"""

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from tracker.domain.versions import Product


class EventKind(StrEnum):
    NEW = "new"
    PULLED = "pulled"
    REISSUED = "reissued"
    RESTORED = "restored"
    DISCREPANCY = "discrepancy"
    ADVISORY = "advisory"  # published, revised or withdrawn: `detail` says which
    SOURCE_ANOMALY = "source_anomaly"
    SOURCE_FAILING = "source_failing"
    SOURCE_RECOVERED = "source_recovered"

    @property
    def is_source_health(self) -> bool:
        return self in (EventKind.SOURCE_ANOMALY, EventKind.SOURCE_FAILING, EventKind.SOURCE_RECOVERED)


class Confidence(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"

    @property
    def rank(self) -> int:
        return _RANK[self]


_RANK = {Confidence.LOW: 0, Confidence.MEDIUM: 1, Confidence.HIGH: 2}


@dataclass(frozen=True)
class Evidence:
    """Why we believe something: which source said it, where, and the words it used."""

    source_id: str
    url: str
    excerpt: str
    observed_at: datetime


@dataclass(frozen=True)
class Event:
    kind: EventKind
    observed_at: datetime
    confidence: Confidence
    evidence: tuple[Evidence, ...]
    product: Product | None = None
    build: int | None = None  # empty for source-health events
    release: str = ""
    source_id: str | None = None  # the source a health event is about
    replaces: tuple[int, ...] = ()  # for reissued: the pulled builds this one replaces
    detail: str = ""  # one human sentence
    advisory: str | None = None  # for advisory events: VMSA-2021-0028.1

    @property
    def key(self) -> tuple[EventKind, Product | None, int | None]:
        return (self.kind, self.product, self.build)


@dataclass(frozen=True)
class EventUpdate:
    """More evidence for an event already raised (same kind, product and build)."""

    kind: EventKind
    product: Product
    build: int
    evidence: tuple[Evidence, ...]
    confidence: Confidence | None = None  # set when the confidence rises
    replaces: tuple[int, ...] = field(default=())  # more builds a reissue is now known to replace

    @property
    def key(self) -> tuple[EventKind, Product | None, int | None]:
        return (self.kind, self.product, self.build)


Change = Event | EventUpdate  # what one observation yields: a new event, or more evidence for one already told
