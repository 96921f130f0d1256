"""Leases: one process at a time does a piece of work (a poll cycle), across processes and hosts sharing a database.

Two poll cycles at once (the service's, and an admin's `tracker poll`; two replicas on PostgreSQL) would both
read the catalog before either writes, and both announce the same new or pulled build. A cycle therefore holds the
`poll` lease: a row taken with one conditional UPDATE (free, expired, or already ours), renewed as the cycle goes,
and freed at its end. A holder that died frees it by expiring. Lease times are the real clock, whatever `--now`
says: they are about processes being alive, not about the catalog's time.
"""

import os
import socket
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col

from tracker.store import LeaseLost
from tracker.store.db import session_scope
from tracker.store.models import LeaseRow

Clock = Callable[[], datetime]
__all__ = ["Held", "LeaseLost", "acquire", "current", "holder_id", "release", "renew", "try_acquire"]


def _moment(session: Session, now: Clock | None) -> datetime:
    """`now()` when given (tests); else the database server's clock on PostgreSQL, this host's elsewhere."""
    if now is not None:
        return now()
    if session.get_bind().dialect.name == "postgresql":
        moment: datetime = session.execute(select(func.now())).scalar_one()
        return moment
    return datetime.now(UTC)


def holder_id() -> str:
    """Who holds a lease, as people read it: host, process id, and a token unique to this holder."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


@dataclass(frozen=True)
class Held:
    """Somebody else's lease: who, and since when."""

    holder: str
    acquired_at: datetime | None
    expires_at: datetime | None


def try_acquire(engine: Engine, name: str, holder: str, ttl: timedelta, now: Clock | None = None) -> Held | None:
    """Take the lease when it is free, expired or ours already. None when taken; else who holds it."""
    _ensure_row(engine, name)
    with session_scope(engine) as session:
        moment = _moment(session, now)
        taken = session.execute(
            update(LeaseRow)
            .where(col(LeaseRow.name) == name)
            .where(
                or_(
                    col(LeaseRow.holder).is_(None),
                    col(LeaseRow.expires_at) < moment,
                    col(LeaseRow.holder) == holder,
                )
            )
            .values(holder=holder, acquired_at=moment, expires_at=moment + ttl)
        )
        if taken.rowcount == 1:  # type: ignore[attr-defined]
            return None
        row = session.get(LeaseRow, name)
        assert row is not None
        return Held(row.holder or "?", row.acquired_at, row.expires_at)


def acquire(engine: Engine, name: str, holder: str, ttl: timedelta, wait: float) -> Held | None:
    """`try_acquire` on the database's clock, trying again every second for up to `wait` seconds."""
    deadline = time.monotonic() + wait
    held = try_acquire(engine, name, holder, ttl)
    while held is not None and time.monotonic() < deadline:
        time.sleep(min(1.0, max(0.0, deadline - time.monotonic())))
        held = try_acquire(engine, name, holder, ttl)
    return held


def renew(engine: Engine, name: str, holder: str, ttl: timedelta, now: Clock | None = None) -> bool:
    """Push the expiry on; False when the lease is no longer ours (it expired and another process took it)."""
    with session_scope(engine) as session:
        moment = _moment(session, now)
        renewed = session.execute(
            update(LeaseRow)
            .where(col(LeaseRow.name) == name, col(LeaseRow.holder) == holder)
            .values(expires_at=moment + ttl)
        )
        return bool(renewed.rowcount == 1)  # type: ignore[attr-defined]


def release(engine: Engine, name: str, holder: str) -> None:
    with session_scope(engine) as session:
        session.execute(
            update(LeaseRow)
            .where(col(LeaseRow.name) == name, col(LeaseRow.holder) == holder)
            .values(holder=None, acquired_at=None, expires_at=None)
        )


def current(engine: Engine, name: str, now: Clock | None = None) -> Held | None:
    """Who holds the lease now (not expired), or None."""
    with Session(engine) as session:
        moment = _moment(session, now)
        row = session.get(LeaseRow, name)
    if row is None or row.holder is None or row.expires_at is None or row.expires_at <= moment:
        return None
    return Held(row.holder, row.acquired_at, row.expires_at)


def _ensure_row(engine: Engine, name: str) -> None:
    with Session(engine) as session:
        if session.get(LeaseRow, name) is not None:
            return
        session.add(LeaseRow(name=name))
        try:
            session.commit()
        except IntegrityError:  # another process made it first
            session.rollback()
