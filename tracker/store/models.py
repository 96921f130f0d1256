"""SQLModel tables: sources and their fetches, builds and their sightings (evidence), events and their evidence.

No `from __future__ import annotations` here: SQLModel needs real annotations (STACK.md).
Times are stored as naive UTC. Kinds and states are stored as their enums' values in plain text columns; the store
reads them back as the enums, into the records it hands out (tracker/store/records.py): no row leaves tracker/store/.
"""

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, UniqueConstraint
from sqlmodel import Field, SQLModel

from tracker.domain.catalog import BuildStatus, Health
from tracker.store import OutboxStatus


class SourceRow(SQLModel, table=True):
    __tablename__ = "source"

    id: str = Field(primary_key=True)
    kind: str
    url: str
    product: str
    role: str
    parent_id: str | None = Field(default=None, index=True)
    configured: bool = True
    active: bool = True  # discovered release notes are followed while their KB row is listed
    created_at: datetime
    baselined: bool = False
    health: str = Health.OK.value  # the store reads it back as a Health (tracker/store/records.py SourceStatus)
    failures: int = 0
    last_success_at: datetime | None = None
    last_error: str | None = None
    last_error_at: datetime | None = None
    rows_seen: int = 0
    etag: str | None = None
    last_modified: str | None = None
    last_fetch_at: datetime | None = None


class FetchRow(SQLModel, table=True):
    __tablename__ = "fetch"

    id: int | None = Field(default=None, primary_key=True)
    source_id: str = Field(index=True)
    started_at: datetime
    outcome: str  # a tracker.domain.decide.FetchOutcome
    http_status: int | None = None
    elapsed_ms: int = 0
    bytes: int = 0
    rows: int = 0
    error: str | None = None
    skipped: list[dict[str, str]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))


class BuildRow(SQLModel, table=True):
    __tablename__ = "build"
    __table_args__ = (UniqueConstraint("product", "build"),)

    id: int | None = Field(default=None, primary_key=True)
    product: str
    build: int
    release_name: str
    line: str | None = None
    update: int | None = None
    letter: str | None = None
    release_date: str | None = None
    alt_builds: list[int] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    notes_url: str | None = None
    status: str = BuildStatus.AVAILABLE.value
    pull_confidence: str | None = None
    pull_notices: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    replaced_by: int | None = None
    first_seen: datetime


class SightingRow(SQLModel, table=True):
    """Evidence that a source lists a build."""

    __tablename__ = "sighting"
    __table_args__ = (UniqueConstraint("source_id", "product", "build"),)

    id: int | None = Field(default=None, primary_key=True)
    source_id: str = Field(index=True)
    product: str
    build: int
    first_seen: datetime
    last_seen: datetime
    url: str
    excerpt: str = ""
    misses: int = 0
    gone: bool = False


class EventRow(SQLModel, table=True):
    __tablename__ = "event"

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(index=True)  # a tracker.domain.events EventKind
    product: str | None = None
    build: int | None = None
    release: str = ""
    observed_at: datetime = Field(index=True)
    confidence: str
    source_id: str | None = None
    replaces: list[int] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    detail: str = ""
    advisory: str | None = None  # VMSA-2021-0028.1, for advisory events


class EventEvidenceRow(SQLModel, table=True):
    __tablename__ = "event_evidence"

    id: int | None = Field(default=None, primary_key=True)
    event_id: int = Field(foreign_key="event.id", index=True)
    source_id: str
    url: str
    excerpt: str
    observed_at: datetime


class ProductStateRow(SQLModel, table=True):
    __tablename__ = "product_state"

    product: str = Field(primary_key=True)
    baselined_at: datetime


class LeaseRow(SQLModel, table=True):
    """A lease one process holds while it works (`poll`: one poll cycle at a time, across processes and hosts);
    a holder that died loses it when it expires (tracker/store/leases.py)."""

    __tablename__ = "lease"

    name: str = Field(primary_key=True)
    holder: str | None = None  # host:pid:token of the process holding it, None when free
    acquired_at: datetime | None = None
    expires_at: datetime | None = None


class AssetRow(SQLModel, table=True):
    """An ESXi host or a vCenter of the admins' inventory; (kind, name_key) keeps re-imports from duplicating."""

    __tablename__ = "asset"
    __table_args__ = (UniqueConstraint("kind", "name_key"),)

    id: int | None = Field(default=None, primary_key=True)
    kind: str
    name: str
    name_key: str  # the name casefolded
    build: int | None = Field(default=None, index=True)
    version_text: str = ""
    vcenter: str = ""
    datacenter: str = ""
    cluster: str = ""
    tags: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    owner: str = ""
    vibs: list[dict[str, str]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    origin: str = ""
    first_seen: datetime
    updated_at: datetime


class OutboxRow(SQLModel, table=True):
    """One message to deliver: an event's alert or a digest, for one channel. Claimed atomically by a worker."""

    __tablename__ = "outbox"
    __table_args__ = (UniqueConstraint("dedup_key", "channel"),)

    id: int | None = Field(default=None, primary_key=True)
    kind: str  # a tracker.store MessageKind
    dedup_key: str  # "event:17" or "digest:2021-11-20T07:00:00+00:00": one message per key and channel
    channel: str
    event_id: int | None = Field(default=None, index=True)
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    status: str = Field(default=OutboxStatus.PENDING.value, index=True)
    attempts: int = 0
    created_at: datetime
    next_attempt_at: datetime = Field(index=True)
    claimed_at: datetime | None = None
    claim_token: str | None = None
    done_targets: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    last_error: str | None = None
    sent_at: datetime | None = None


class DeliveryRow(SQLModel, table=True):
    """The outcome of one send to one target (apprise URL, in its privacy form)."""

    __tablename__ = "delivery"

    id: int | None = Field(default=None, primary_key=True)
    outbox_id: int = Field(index=True)
    target: str
    attempted_at: datetime
    ok: bool
    permanent: bool = False
    error: str | None = None


class WatchRow(SQLModel, table=True):
    """A watchlist added with `tracker watch add` (the config's watchlists are not stored)."""

    __tablename__ = "watch"

    name: str = Field(primary_key=True)
    spec: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime


class SnoozeRow(SQLModel, table=True):
    __tablename__ = "snooze"

    id: int | None = Field(default=None, primary_key=True)
    target_kind: str  # a tracker.domain.alerts SnoozeKind
    target: str
    until: datetime
    reason: str
    fingerprint: str = ""  # the finding as it was when snoozed; a material change reopens it
    created_at: datetime
    ended_at: datetime | None = None
    ended_reason: str | None = None


class DigestStateRow(SQLModel, table=True):
    """The end of the last digest period queued per channel: a restart neither re-sends nor skips one."""

    __tablename__ = "digest_state"

    channel: str = Field(primary_key=True)
    last_period_end: datetime


class AdvisoryRow(SQLModel, table=True):
    """A security advisory at its newest revision seen, with its fixes per product line."""

    __tablename__ = "advisory"

    id: str = Field(primary_key=True)  # VMSA-2022-0004
    revision: int = 0
    title: str = ""
    severity: str = "important"
    url: str = ""
    published: str | None = None
    updated: str | None = None
    cves: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    fixes: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    withdrawn: bool = False
    excerpt: str = ""
    source_id: str = ""
    first_seen: datetime
    # why the page's Response Matrix could not be read ("fixes unknown"); "" when it was read (added in 0007)
    unread: str = Field(default="", sa_column_kwargs={"server_default": ""})


class VcfReleaseRow(SQLModel, table=True):
    """A VMware Cloud Foundation release as its release notes' Bill of Materials lists it (one row per release)."""

    __tablename__ = "vcf_release"

    version: str = Field(primary_key=True)  # 9.0.0.0
    release_date: str | None = None
    notes_url: str | None = None
    components: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    source_id: str = ""
