"""What the store hands out: frozen records, typed with the domain's enums, never ORM rows.

A face (the CLI's views, the `--json` shapes in tracker/listings.py, the pages, the alert pipeline) reads these and
only formats them; a row's session, its lazy loading and its plain-`str` columns stay inside tracker/store/. This
module imports no SQLAlchemy, so a face can name the types (or a quiet poll can load them) without loading the ORM.
Times are timezone-aware UTC (the tables store naive UTC; the store adds the zone when it reads a row).
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tracker.domain.alerts import SnoozeKind
from tracker.domain.catalog import BuildStatus, Health
from tracker.domain.events import Confidence, EventKind
from tracker.domain.roles import SourceRole
from tracker.domain.versions import Product
from tracker.store import MessageKind, OutboxStatus


@dataclass(frozen=True)
class EvidenceRecord:
    """Why an event was raised: which source said it, where, in which words, and when the tracker read it."""

    event_id: int
    source_id: str
    url: str
    excerpt: str
    observed_at: datetime


@dataclass(frozen=True)
class EventRecord:
    """An event as stored (its evidence: EvidenceRecord, read beside it)."""

    id: int
    kind: EventKind
    product: Product | None
    build: int | None
    release: str
    observed_at: datetime
    confidence: Confidence
    source_id: str | None = None  # the source a health event is about
    replaces: tuple[int, ...] = ()
    detail: str = ""
    advisory: str | None = None  # VMSA-2021-0028.1, for advisory events


@dataclass(frozen=True)
class BuildRecord:
    """One build of the catalog as stored, with the release's parts (line, update, letter) as columns."""

    product: Product
    build: int
    release_name: str
    first_seen: datetime
    line: str | None = None
    update: int | None = None
    letter: str | None = None
    release_date: str | None = None  # ISO date
    alt_builds: tuple[int, ...] = ()
    notes_url: str | None = None
    status: BuildStatus = BuildStatus.AVAILABLE
    pull_confidence: Confidence | None = None
    pull_notices: tuple[str, ...] = ()  # the sources whose pull notice for it still stands
    replaced_by: int | None = None


@dataclass(frozen=True)
class SightingRecord:
    """A source's evidence of one build: listed now, or gone after `misses` good polls without it."""

    source_id: str
    product: Product
    build: int
    first_seen: datetime
    last_seen: datetime
    url: str
    excerpt: str = ""
    misses: int = 0
    gone: bool = False


@dataclass(frozen=True)
class SourceStatus:
    """A stored source and how it fares: its last health as the cycle judged it, its failures and last error.
    `polled` tells a source never fetched (its stored health is only the default) from one that answered."""

    id: str
    kind: str
    url: str  # as stored: a secret from ${VAR} is masked
    product: Product
    role: SourceRole
    created_at: datetime
    parent_id: str | None = None  # the KB source a followed release-notes page was found through
    configured: bool = True
    active: bool = True
    health: Health = Health.OK
    failures: int = 0
    last_success_at: datetime | None = None
    last_error: str | None = None
    last_error_at: datetime | None = None
    rows_seen: int = 0
    last_fetch_at: datetime | None = None

    @property
    def polled(self) -> bool:
        return self.last_fetch_at is not None


@dataclass(frozen=True)
class OutboxMessage:
    """One message to deliver to one channel, as queued and as far as its delivery got. `claim_token` names the
    sender holding it while it is `sending`; `done_targets` the targets (hashed) that already got it."""

    id: int
    kind: MessageKind
    dedup_key: str  # "event:17", "digest:2021-11-20T07:00:00+00:00": one message per key and channel
    channel: str
    payload: dict[str, Any]
    status: OutboxStatus
    attempts: int
    created_at: datetime
    next_attempt_at: datetime
    event_id: int | None = None
    claimed_at: datetime | None = None
    claim_token: str | None = None
    done_targets: tuple[str, ...] = ()
    last_error: str | None = None
    sent_at: datetime | None = None


@dataclass(frozen=True)
class DeliveryAttempt:
    """The outcome of one send of a message to one target (its URL in apprise's privacy form)."""

    outbox_id: int
    target: str
    attempted_at: datetime
    ok: bool
    permanent: bool = False
    error: str | None = None


@dataclass(frozen=True)
class SnoozeRecord:
    """A snooze as stored: standing until `ended_at` (removed by hand, or reopened with the reason)."""

    id: int
    target_kind: SnoozeKind
    target: str  # an asset's name, a build number, an advisory id
    until: datetime
    reason: str
    created_at: datetime
    fingerprint: str = ""  # the finding as it was when snoozed; a material change reopens it
    ended_at: datetime | None = None
    ended_reason: str | None = None
