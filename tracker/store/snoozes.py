"""Snoozes as rows: set, listed, ended (removed by hand or reopened with the reason); read as SnoozeRecords."""

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from tracker.domain.alerts import SnoozeKind
from tracker.store.models import SnoozeRow
from tracker.store.records import SnoozeRecord
from tracker.store.repo import opt_utc, utc


@dataclass(frozen=True)
class NewSnooze:
    kind: SnoozeKind
    target: str
    until: datetime
    reason: str
    fingerprint: str = ""  # the finding as it is now; a material change reopens the snooze


def add(session: Session, snooze: NewSnooze, now: datetime) -> int:
    """Store the snooze; its id."""
    row = SnoozeRow(
        target_kind=snooze.kind,
        target=snooze.target,
        until=snooze.until,
        reason=snooze.reason,
        fingerprint=snooze.fingerprint,
        created_at=now,
    )
    session.add(row)
    session.flush()
    return row.id or 0


def every(session: Session) -> list[SnoozeRecord]:
    """Standing and ended, oldest first."""
    return [_record(row) for row in session.exec(select(SnoozeRow).order_by(col(SnoozeRow.id)))]


def standing(session: Session) -> list[SnoozeRecord]:
    """Every snooze not ended yet, expired ones included (they reopen), oldest first."""
    query = select(SnoozeRow).where(col(SnoozeRow.ended_at).is_(None)).order_by(col(SnoozeRow.id))
    return [_record(row) for row in session.exec(query)]


def _record(row: SnoozeRow) -> SnoozeRecord:
    return SnoozeRecord(
        id=row.id or 0,
        target_kind=SnoozeKind(row.target_kind),
        target=row.target,
        until=utc(row.until),
        reason=row.reason,
        created_at=utc(row.created_at),
        fingerprint=row.fingerprint,
        ended_at=opt_utc(row.ended_at),
        ended_reason=row.ended_reason,
    )


def end(session: Session, snooze_id: int, reason: str, now: datetime) -> bool:
    """End a standing snooze; False when there is none with that id."""
    row = session.get(SnoozeRow, snooze_id)
    if row is None or row.ended_at is not None:
        return False
    row.ended_at, row.ended_reason = now, reason
    session.add(row)
    return True


def expiring(session: Session, start: datetime, end_: datetime) -> list[SnoozeRecord]:
    """Standing snoozes that run out in (start, end_]."""
    return [r for r in standing(session) if start < r.until <= end_]
