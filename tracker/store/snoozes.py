"""Snoozes as rows: set, listed, ended (removed by hand or reopened with the reason)."""

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from tracker.store.models import SnoozeRow
from tracker.store.repo import utc


@dataclass(frozen=True)
class NewSnooze:
    kind: str  # asset | build | advisory
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


def every(session: Session) -> list[SnoozeRow]:
    """Standing and ended, oldest first."""
    return list(session.exec(select(SnoozeRow).order_by(col(SnoozeRow.id))))


def standing(session: Session) -> list[SnoozeRow]:
    """Every snooze not ended yet, expired ones included (they reopen), oldest first."""
    return list(session.exec(select(SnoozeRow).where(col(SnoozeRow.ended_at).is_(None)).order_by(col(SnoozeRow.id))))


def end(session: Session, snooze_id: int, reason: str, now: datetime) -> bool:
    """End a standing snooze; False when there is none with that id."""
    row = session.get(SnoozeRow, snooze_id)
    if row is None or row.ended_at is not None:
        return False
    row.ended_at, row.ended_reason = now, reason
    session.add(row)
    return True


def expiring(session: Session, start: datetime, end_: datetime) -> list[SnoozeRow]:
    """Standing snoozes that run out in (start, end_]."""
    return [r for r in standing(session) if start < utc(r.until) <= end_]
