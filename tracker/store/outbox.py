"""The outbox's rows: one message per (key, channel), claimed with one conditional UPDATE, each target's outcome
recorded as a delivery row, the row's next state (sent, failed, or waiting for a retry) committed with it.

Claiming, as healthchecks' `sendalerts` does: `claimable(now, stale_before)` is the one condition a row must meet
to be taken (due and pending, or `sending` under a claim that went stale); the UPDATE that takes a row repeats it,
so of two workers that saw the same row, one wins. A sender takes one row at a time and renews its claim while it
sends, so a sender that dies holds only the message in flight, and only until its claim goes stale.

Claims are timed on the real clock (the database server's on PostgreSQL, this host's elsewhere), never on the
caller's `now`: a claim says a sender is alive, and under a fixed `--now` a dead one's claim must still go stale.
Whether a row is due (`next_attempt_at`) is the caller's `now`, as is every time recorded for people.

Every write a sender makes under its claim (`record`, `finish`, `release`) is conditional on its claim token: a
send that outlived its claim (another worker took the row over) writes nothing, and says so (`Result.LOST`).

A claim names its holder the way the poll lease does (tracker/store/holders.py: host, PID, the process's start
time and boot): a claim whose holder is provably gone (a process of this host that was killed, its PID reused or
not) is free at once, so a restart re-sends the message that was in flight without waiting for the claim to go
stale; a claim from another host, or one that cannot be probed, still waits for `claim_timeout`. At most one
duplicate per crash stays the rule: the dead sender may have delivered it before it died.
"""

import functools
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, Engine, func, or_, update
from sqlmodel import Session, col, select

from tracker.domain.alerts import next_attempt
from tracker.store import OUTBOX_CLAIM, MessageKind, OutboxStatus, holders
from tracker.store.db import session_scope
from tracker.store.models import DeliveryRow, OutboxRow
from tracker.store.records import DeliveryAttempt, OutboxMessage
from tracker.store.repo import opt_utc, utc


class Result(StrEnum):
    """What one delivery of a row came to."""

    SENT = "sent"
    RETRYING = "retrying"
    FAILED = "failed"
    LOST = "lost"  # the claim went stale and another worker took the row: nothing of this send was written
    ABANDONED = "abandoned"  # the worker was told to stop mid-send: the row was released, due again at once


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


Clock = Callable[[], datetime]


@dataclass(frozen=True)
class ClaimTerms:
    """How long a claim holds unless renewed, and on which clock (None: the database server's on PostgreSQL, this
    host's elsewhere; tests pass one to stand for a sender that claimed a row minutes ago and died)."""

    timeout: timedelta = OUTBOX_CLAIM
    clock: Clock | None = None


def _moment(session: Session, terms: ClaimTerms) -> datetime:
    if terms.clock is not None:
        return terms.clock()
    if session.get_bind().dialect.name == "postgresql":
        moment: datetime = session.execute(select(func.now())).scalar_one()
        return moment
    return datetime.now(UTC)


def claimable(now: datetime, stale_before: datetime) -> ColumnElement[bool]:
    """The one condition under which a worker may take a row: due at `now`, or claimed before `stale_before`."""
    status = col(OutboxRow.status)
    return or_(
        (status == OutboxStatus.PENDING) & (col(OutboxRow.next_attempt_at) <= now),
        (status == OutboxStatus.SENDING) & (col(OutboxRow.claimed_at) < stale_before),
    )


@functools.cache
def _holder() -> str:
    """This process, as its claims name it (one id per process: `host:pid:token:place.start`)."""
    return holders.holder_id()


def _token() -> str:
    return f"{_holder()}/{uuid.uuid4().hex}"


def free_orphans(session: Session) -> int:
    """Give back, due at once, every claim whose holder is a process of this host that no longer runs; the number
    freed. A conditional UPDATE per row: a live worker's claim, or one renewed meanwhile, is never touched."""
    freed = 0
    held = session.exec(select(OutboxRow.id, OutboxRow.claim_token).where(OutboxRow.status == OutboxStatus.SENDING))
    for row_id, token in list(held):
        if not token or not holders.gone(token.partition("/")[0]):
            continue
        written = session.execute(
            update(OutboxRow)
            .where(col(OutboxRow.id) == row_id, col(OutboxRow.claim_token) == token)
            .values(status=OutboxStatus.PENDING, claim_token=None, claimed_at=None)
        )
        freed += int(written.rowcount)  # type: ignore[attr-defined]
    return freed


def due_channels(engine: Engine, now: datetime, terms: ClaimTerms) -> list[str]:
    """The channels that have a row a worker may take now (claims of dead processes of this host freed first)."""
    with session_scope(engine) as session:
        free_orphans(session)
        condition = claimable(now, _moment(session, terms) - terms.timeout)
        query = select(OutboxRow.channel).where(condition).distinct().order_by(col(OutboxRow.channel))
        return list(session.exec(query))


@dataclass(frozen=True)
class Cursor:
    """Where a sender is in one channel's rows: it takes the oldest claimable row after `after`."""

    channel: str
    now: datetime
    after: int = 0


def claim_next(engine: Engine, cursor: Cursor, terms: ClaimTerms) -> OutboxMessage | None:
    """Take the channel's oldest row after the cursor that nobody else holds (one conditional UPDATE); None when
    there is none. Of two workers after the same row, one gets it and the other moves on to the next."""
    if cursor.after == 0:  # a new pass over the channel: claims of dead processes of this host are free now
        with session_scope(engine) as session:
            free_orphans(session)
    after = cursor.after
    while (row_id := _next_claimable(engine, cursor, after, terms)) is not None:
        row = _take(engine, row_id, cursor.now, terms)
        if row is not None:
            return row
        after = row_id
    return None


def _next_claimable(engine: Engine, cursor: Cursor, after: int, terms: ClaimTerms) -> int | None:
    with session_scope(engine) as session:
        condition = claimable(cursor.now, _moment(session, terms) - terms.timeout)
        query = (
            select(OutboxRow.id)
            .where(OutboxRow.channel == cursor.channel, col(OutboxRow.id) > after, condition)
            .order_by(col(OutboxRow.id))
            .limit(1)
        )
        return session.exec(query).first()


def _take(engine: Engine, row_id: int, now: datetime, terms: ClaimTerms) -> OutboxMessage | None:
    token = _token()
    with session_scope(engine) as session:
        moment = _moment(session, terms)
        session.execute(
            update(OutboxRow)
            .where(col(OutboxRow.id) == row_id, claimable(now, moment - terms.timeout))
            .values(status=OutboxStatus.SENDING, claimed_at=moment, claim_token=token)
        )
        row = session.exec(select(OutboxRow).where(OutboxRow.claim_token == token)).first()
        return message_record(row) if row is not None else None


def message_record(row: OutboxRow) -> OutboxMessage:
    return OutboxMessage(
        id=row.id or 0,
        kind=MessageKind(row.kind),
        dedup_key=row.dedup_key,
        channel=row.channel,
        payload=row.payload,
        status=OutboxStatus(row.status),
        attempts=row.attempts,
        created_at=utc(row.created_at),
        next_attempt_at=utc(row.next_attempt_at),
        event_id=row.event_id,
        claimed_at=opt_utc(row.claimed_at),
        claim_token=row.claim_token,
        done_targets=tuple(row.done_targets),
        last_error=row.last_error,
        sent_at=opt_utc(row.sent_at),
    )


def _attempt_record(row: DeliveryRow) -> DeliveryAttempt:
    return DeliveryAttempt(row.outbox_id, row.target, utc(row.attempted_at), row.ok, row.permanent, row.error)


def renew(engine: Engine, token: str, terms: ClaimTerms) -> bool:
    """Move the claim held under this token to now: False when it is no longer held (finished, or taken over)."""
    with session_scope(engine) as session:
        renewed = session.execute(
            update(OutboxRow)
            .where(col(OutboxRow.claim_token) == token, col(OutboxRow.status) == OutboxStatus.SENDING)
            .values(claimed_at=_moment(session, terms))
        )
        return int(renewed.rowcount) == 1  # type: ignore[attr-defined]


def release(engine: Engine, row: OutboxMessage) -> bool:
    """Give a claimed row back, due again at once, its attempt not counted (a worker stopping mid-send): False
    when the claim was no longer this worker's."""
    with session_scope(engine) as session:
        return _held(session, row, status=OutboxStatus.PENDING, claim_token=None, claimed_at=None)


def _held(session: Session, row: OutboxMessage, **values: Any) -> bool:
    """Write `values` to the row only while it is still claimed under this worker's token."""
    written = session.execute(
        update(OutboxRow)
        .where(
            col(OutboxRow.id) == row.id,
            col(OutboxRow.claim_token) == row.claim_token,
            col(OutboxRow.status) == OutboxStatus.SENDING,
        )
        .values(**values)
    )
    return int(written.rowcount) == 1  # type: ignore[attr-defined]


def record(engine: Engine, row: OutboxMessage, attempt: Attempt, now: datetime) -> OutboxMessage | None:
    """One target's outcome, committed at once (with the row's done list) so a crash cannot make it re-send: the
    message as it stands now (its done list grown); None (nothing written) when the claim is no longer this
    worker's."""
    with session_scope(engine) as session:
        done = _done_after(row, attempt)
        if not _held(session, row, done_targets=done):
            return None
        session.add(_attempt_row(row, attempt, now))
    return replace(row, done_targets=tuple(done))


def _done_after(row: OutboxMessage, attempt: Attempt) -> list[str]:
    return sorted({*row.done_targets, attempt.target_key}) if attempt.ok else list(row.done_targets)


def _attempt_row(row: OutboxMessage, attempt: Attempt, now: datetime) -> DeliveryRow:
    return DeliveryRow(
        outbox_id=row.id,
        target=attempt.target,
        attempted_at=now,
        ok=attempt.ok,
        permanent=attempt.permanent,
        error=attempt.error,
    )


def finish(engine: Engine, row: OutboxMessage, delivery: Delivery, now: datetime) -> Result:
    """The row's new state, in the same transaction as its last target's outcome (one commit per message);
    `Result.LOST` (nothing written) when the claim is no longer this worker's."""
    errors = delivery.permanent + delivery.transient
    values: dict[str, Any] = {
        "attempts": row.attempts + 1,
        "claim_token": None,
        "last_error": "; ".join(errors)[:1000] if errors else None,
    }
    if delivery.last is not None:
        values["done_targets"] = _done_after(row, delivery.last)
    result = _next_state(row, delivery, now, values)
    with session_scope(engine) as session:
        if not _held(session, row, **values):
            return Result.LOST
        if delivery.last is not None:
            session.add(_attempt_row(row, delivery.last, now))
    return result


def _next_state(row: OutboxMessage, delivery: Delivery, now: datetime, values: dict[str, Any]) -> Result:
    """The row's next status (and when it is due or was sent), into `values`."""
    if delivery.gives_up:
        values["status"] = OutboxStatus.FAILED
        return Result.FAILED
    if not delivery.transient:
        values["status"], values["sent_at"] = OutboxStatus.SENT, now
        return Result.SENT
    retry_at = next_attempt(row.created_at, values["attempts"], now)
    if retry_at is None:
        values["status"] = OutboxStatus.FAILED
        return Result.FAILED
    values["status"], values["next_attempt_at"] = OutboxStatus.PENDING, retry_at
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


def deliveries(
    session: Session, status: OutboxStatus | None = None
) -> list[tuple[OutboxMessage, list[DeliveryAttempt]]]:
    """Every message (or those in one state), oldest first, each with its attempts."""
    query = select(OutboxRow).order_by(col(OutboxRow.id))
    if status:
        query = query.where(OutboxRow.status == status)
    rows = [message_record(row) for row in session.exec(query)]
    attempts: dict[int, list[DeliveryAttempt]] = {}
    ids = [r.id for r in rows]
    for start in range(0, len(ids), 500):  # under SQLite's parameter limit
        chunk = ids[start : start + 500]
        for attempt in session.exec(select(DeliveryRow).where(col(DeliveryRow.outbox_id).in_(chunk))):
            attempts.setdefault(attempt.outbox_id, []).append(_attempt_record(attempt))
    return [(r, attempts.get(r.id, [])) for r in rows]
