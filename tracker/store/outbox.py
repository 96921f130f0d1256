"""The outbox's rows: one message per (key, channel), claimed with one conditional UPDATE, each target's outcome
recorded as a delivery row, the row's next state (sent, failed, or waiting for a retry) committed with it.

Claiming, as healthchecks' `sendalerts` does: `claimable(now)` is the one condition a row must meet to be taken
(due and pending, or `sending` under a claim that went stale); the UPDATE that takes rows repeats it, so of two
workers that saw the same row, one wins.
"""

import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, Engine, or_, update
from sqlmodel import Session, col, select

from tracker.domain.alerts import next_attempt
from tracker.store import OUTBOX_CLAIM, OutboxStatus
from tracker.store.db import session_scope
from tracker.store.models import DeliveryRow, OutboxRow
from tracker.store.repo import utc


class Result(StrEnum):
    """What one delivery of a row came to."""

    SENT = "sent"
    RETRYING = "retrying"
    FAILED = "failed"


class MessageKind(StrEnum):
    """What an outbox row carries (its payload's shape; tracker/notify/outbox.py renders each)."""

    ALERT = "alert"
    DIGEST = "digest"
    REMINDER = "reminder"  # a snooze reopened


@dataclass(frozen=True)
class Message:
    """A message to queue: `key` makes it unique per channel ("event:17", "digest:2021-11-20T07:00:00+00:00")."""

    key: str
    channel: str
    kind: MessageKind
    payload: dict[str, Any]
    event_id: int | None = None


@dataclass(frozen=True)
class Attempt:
    """One send of a row to one target."""

    target_key: str  # which target (a hash of its URL, tracker/notify/outbox.py target_key)
    target: str  # the URL in apprise's privacy form, for people
    ok: bool
    permanent: bool = False
    error: str | None = None


@dataclass(frozen=True)
class Delivery:
    """A row's delivery as a whole: the errors that may pass (retry) and those that will not (fail now)."""

    transient: tuple[str, ...] = ()
    permanent: tuple[str, ...] = ()
    last: Attempt | None = None  # the last target's outcome, committed with the row's new state

    @property
    def gives_up(self) -> bool:
        return bool(self.permanent) and not self.transient


def enqueue(session: Session, message: Message, now: datetime) -> int:
    """Queue the message unless its key is queued for the channel already (a re-run, a second worker): 1 or 0."""
    query = select(OutboxRow.id).where(OutboxRow.dedup_key == message.key, OutboxRow.channel == message.channel)
    if session.exec(query).first() is not None:
        return 0
    session.add(
        OutboxRow(
            kind=message.kind,
            dedup_key=message.key,
            channel=message.channel,
            event_id=message.event_id,
            payload=message.payload,
            created_at=now,
            next_attempt_at=now,
            done_targets=[],
        )
    )
    return 1


def claimable(now: datetime) -> ColumnElement[bool]:
    """The one condition under which a worker may take a row."""
    status = col(OutboxRow.status)
    return or_(
        (status == OutboxStatus.PENDING) & (col(OutboxRow.next_attempt_at) <= now),
        (status == OutboxStatus.SENDING) & (col(OutboxRow.claimed_at) < now - OUTBOX_CLAIM),
    )


def due(engine: Engine, now: datetime, limit: int) -> list[int]:
    """The ids of the rows a worker may take now, oldest first."""
    with session_scope(engine) as session:
        query = select(OutboxRow.id).where(claimable(now)).order_by(col(OutboxRow.id)).limit(limit)
        return [i for i in session.exec(query) if i is not None]


def claim(engine: Engine, row_ids: list[int], now: datetime) -> list[OutboxRow]:
    """Take those of the rows nobody else holds, in one conditional UPDATE; return the ones this worker got."""
    token = uuid.uuid4().hex
    with session_scope(engine) as session:
        session.execute(
            update(OutboxRow)
            .where(col(OutboxRow.id).in_(row_ids), claimable(now))
            .values(status=OutboxStatus.SENDING, claimed_at=now, claim_token=token)
        )
        return list(session.exec(select(OutboxRow).where(OutboxRow.claim_token == token).order_by(col(OutboxRow.id))))


def record(engine: Engine, row: OutboxRow, attempt: Attempt, now: datetime) -> None:
    """One target's outcome, committed at once (with the row's done list) so a crash cannot make it re-send."""
    with session_scope(engine) as session:
        _add_attempt(session, row, attempt, now)


def _add_attempt(session: Session, row: OutboxRow, attempt: Attempt, now: datetime) -> None:
    session.add(
        DeliveryRow(
            outbox_id=row.id or 0,
            target=attempt.target,
            attempted_at=now,
            ok=attempt.ok,
            permanent=attempt.permanent,
            error=attempt.error,
        )
    )
    if attempt.ok:
        stored = session.get(OutboxRow, row.id)
        if stored is not None:
            stored.done_targets = sorted({*stored.done_targets, attempt.target_key})
            session.add(stored)


def finish(engine: Engine, row: OutboxRow, delivery: Delivery, now: datetime) -> Result:
    """The row's new state, in the same transaction as its last target's outcome (one commit per message)."""
    with session_scope(engine) as session:
        if delivery.last is not None:
            _add_attempt(session, row, delivery.last, now)
        stored = session.get(OutboxRow, row.id)
        assert stored is not None
        stored.attempts += 1
        stored.claim_token = None
        errors = delivery.permanent + delivery.transient
        stored.last_error = "; ".join(errors)[:1000] if errors else None
        result = _next_state(stored, delivery, now)
        session.add(stored)
    return result


def _next_state(row: OutboxRow, delivery: Delivery, now: datetime) -> Result:
    if delivery.gives_up:
        row.status = OutboxStatus.FAILED
        return Result.FAILED
    if not delivery.transient:
        row.status, row.sent_at = OutboxStatus.SENT, now
        return Result.SENT
    retry_at = next_attempt(utc(row.created_at), row.attempts, now)
    if retry_at is None:
        row.status = OutboxStatus.FAILED
        return Result.FAILED
    row.status, row.next_attempt_at = OutboxStatus.PENDING, retry_at
    return Result.RETRYING


def retry(engine: Engine, row_id: int, now: datetime) -> bool:
    """A failed (or waiting) row is due again now, with a fresh retry budget; False for a sent or unknown row."""
    with session_scope(engine) as session:
        row = session.get(OutboxRow, row_id)
        if row is None or row.status == OutboxStatus.SENT:
            return False
        row.status, row.next_attempt_at, row.created_at, row.attempts = OutboxStatus.PENDING, now, now, 0
        session.add(row)
    return True


def deliveries(session: Session, status: OutboxStatus | None = None) -> list[tuple[OutboxRow, list[DeliveryRow]]]:
    """Every row (or those in one state), oldest first, each with its attempts."""
    query = select(OutboxRow).order_by(col(OutboxRow.id))
    if status:
        query = query.where(OutboxRow.status == status)
    rows = list(session.exec(query))
    attempts: dict[int, list[DeliveryRow]] = {}
    ids = [r.id for r in rows if r.id is not None]
    if ids:
        for attempt in session.exec(select(DeliveryRow).where(col(DeliveryRow.outbox_id).in_(ids))):
            attempts.setdefault(attempt.outbox_id, []).append(attempt)
    return [(r, attempts.get(r.id or 0, [])) for r in rows]
