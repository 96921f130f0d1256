"""Leases: one process at a time does a piece of work (a poll cycle), across processes and hosts sharing a database.

Two poll cycles at once (the service's, and an admin's `tracker poll`; two replicas on PostgreSQL) would both
read the catalog before either writes, and both announce the same new or pulled build. A cycle therefore holds the
`poll` lease: a row taken with one conditional UPDATE (free, expired, or already ours), renewed as the cycle goes,
and freed at its end. Lease times are the real clock, whatever `--now` says: they are about processes being alive,
not about the catalog's time.

A holder that died (kill -9, a crash, a power cut) cannot free its lease. One on another host loses it when it
expires (`service.lease_ttl`, a minute by default). One on this host is probed at once: the holder id names the host,
the process id and, on Linux, where that id is valid (the boot and the PID namespace) and when the process started
(`/proc/PID/stat`, so a PID the kernel gave to a newer process is not mistaken for the holder). A lease whose
holder is provably gone is taken over at once; any doubt (another host, another PID namespace, no /proc) waits for
the expiry, since two cycles at once would announce the same build twice.
"""

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import ColumnElement, Engine, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col

from tracker.store import LeaseLost
from tracker.store.db import session_scope
from tracker.store.holders import gone, holder_id
from tracker.store.models import LeaseRow

Clock = Callable[[], datetime]
__all__ = ["Held", "LeaseLost", "acquire", "current", "gone", "holder_id", "release", "renew", "try_acquire"]
log = logging.getLogger(__name__)


def _moment(session: Session, now: Clock | None) -> datetime:
    """`now()` when given (tests); else the database server's clock on PostgreSQL, this host's elsewhere."""
    if now is not None:
        return now()
    if session.get_bind().dialect.name == "postgresql":
        moment: datetime = session.execute(select(func.now())).scalar_one()
        return moment
    return datetime.now(UTC)


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
        claim = _Claim(session, name, holder, _moment(session, now), ttl)
        free = or_(
            col(LeaseRow.holder).is_(None), col(LeaseRow.expires_at) < claim.moment, col(LeaseRow.holder) == holder
        )
        if claim.take(free):
            return None
        row = session.get(LeaseRow, name)
        assert row is not None
        previous = row.holder
        if previous is not None and gone(previous) and claim.take(col(LeaseRow.holder) == previous):
            log.warning("the %s lease was held by %s, a process of this host that is gone: taken over", name, previous)
            return None
        session.refresh(row)  # another process may have taken it just now
        return Held(row.holder or "?", row.acquired_at, row.expires_at)


@dataclass(frozen=True)
class _Claim:
    """Taking one lease in one transaction: the conditional UPDATE, with the condition under which it is free."""

    session: Session
    name: str
    holder: str
    moment: datetime
    ttl: timedelta

    def take(self, free: ColumnElement[bool]) -> bool:
        taken = self.session.execute(
            update(LeaseRow)
            .where(col(LeaseRow.name) == self.name, free)
            .values(holder=self.holder, acquired_at=self.moment, expires_at=self.moment + self.ttl)
        )
        return bool(taken.rowcount == 1)  # type: ignore[attr-defined]


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
    """Who holds the lease now (not expired, not a process of this host that is gone), or None."""
    with Session(engine) as session:
        moment = _moment(session, now)
        row = session.get(LeaseRow, name)
    if row is None or row.holder is None or row.expires_at is None or row.expires_at <= moment or gone(row.holder):
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
