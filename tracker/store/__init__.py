"""Storage: SQLModel tables, sessions and migrations, repository functions. This module stays light (no
SQLAlchemy): the constants the standard-library fast path shares with the ORM."""

from datetime import timedelta
from enum import StrEnum

SCHEMA_HEAD = "0007"  # the newest Alembic revision; tracker/store/fastpath.py reads it without importing SQLAlchemy
POLL_LEASE = "poll"  # the lease of the poll cycle (tracker/store/leases.py, read by fastpath.py too)
OUTBOX_CLAIM = timedelta(minutes=1)  # a claim not renewed for this long is stale (a dead sender): another may send it


class OutboxStatus(StrEnum):
    """An outbox row's state (tracker/store/outbox.py): pending -> sending (claimed) -> sent | failed, or back to
    pending to wait for a retry. A `sending` row whose claim was not renewed for the claim timeout (config
    `delivery.claim_timeout`, OUTBOX_CLAIM by default) may be claimed again."""

    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"


class MessageKind(StrEnum):
    """What an outbox row carries (its payload's shape; tracker/notify/outbox.py renders each)."""

    ALERT = "alert"
    DIGEST = "digest"
    REMINDER = "reminder"  # a snooze reopened
    NOTICE = "notice"  # the tracker's own health, for the operators


class LeaseLost(RuntimeError):
    """The lease expired while its holder worked (it ran longer than the time to live) and another process may hold
    it now: the holder must stop before it writes anything more."""
