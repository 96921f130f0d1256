"""Watchlists added with `tracker watch add` (the config's own are not stored): their specs as the config reads
them."""

from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from tracker.store.models import WatchRow


def stored_specs(session: Session) -> list[dict[str, Any]]:
    """The stored watchlists' specs, by name."""
    return [row.spec for row in session.exec(select(WatchRow).order_by(col(WatchRow.name)))]


def any_stored(session: Session) -> bool:
    return session.exec(select(WatchRow.name)).first() is not None


def add(session: Session, name: str, spec: dict[str, Any], now: datetime) -> bool:
    """Store a watchlist; False (nothing written) when one of that name exists."""
    if session.get(WatchRow, name) is not None:
        return False
    session.add(WatchRow(name=name, spec=spec, created_at=now))
    return True


def remove(session: Session, name: str) -> bool:
    """False when no stored watchlist has that name."""
    row = session.get(WatchRow, name)
    if row is None:
        return False
    session.delete(row)
    return True
