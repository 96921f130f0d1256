"""The digest's rows: per channel, the end of the last period queued (`digest_state`), and the events of a period."""

from datetime import datetime

from sqlmodel import Session, col, select

from tracker.store.models import DigestStateRow, EventRow
from tracker.store.records import EventRecord
from tracker.store.repo import event_record, utc


def last_period_end(session: Session, channel: str) -> datetime | None:
    """None: the channel's schedule has not started."""
    state = session.get(DigestStateRow, channel)
    return utc(state.last_period_end) if state else None


def period_queued(session: Session, channel: str, end: datetime) -> None:
    """The channel's digest up to `end` is queued (or its schedule starts at `end`)."""
    session.merge(DigestStateRow(channel=channel, last_period_end=end))


def events_between(session: Session, start: datetime, end: datetime) -> list[EventRecord]:
    """The events observed in (start, end], in order."""
    query = (
        select(EventRow)
        .where(col(EventRow.observed_at) > start, col(EventRow.observed_at) <= end)
        .order_by(col(EventRow.observed_at), col(EventRow.id))
    )
    return [event_record(row) for row in session.exec(query)]
