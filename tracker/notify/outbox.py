"""Working the outbox: claim a due row atomically, send it through apprise target by target, record each outcome.

- Claiming is a conditional UPDATE (`... WHERE id = ? AND status = 'pending'`): of two workers, one wins.
- Each target's success is committed as soon as it is known, so a retry never re-sends to a target that already
  got the message. A row left `sending` by a process that died is claimed again once its lease has run out.
- Transient failures are retried with backoff (domain/alerts.py: 1 min, 5 min, 30 min, 2 h, then every 6 h up to
  a day) and then marked failed; permanent ones (a URL apprise cannot load, NOMATCH) fail at once.
"""

import hashlib
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, or_, update
from sqlmodel import Session, col, select

from tracker.config import Config
from tracker.domain.alerts import next_attempt
from tracker.store import OUTBOX_CLAIM
from tracker.store.db import session_scope
from tracker.store.models import DeliveryRow, OutboxRow
from tracker.store.repo import utc

LEASE = OUTBOX_CLAIM


@dataclass
class WorkReport:
    sent: int = 0
    retrying: int = 0
    failed: int = 0


Render = Callable[[OutboxRow, str], tuple[str, str, str]]


def work_outbox(config: Config, engine: Engine, now: datetime, limit: int = 10_000) -> WorkReport:
    """Deliver every due row (at most `limit`)."""
    report = WorkReport()
    due = _due(engine, now, limit)
    for start in range(0, len(due), CLAIM_BATCH):
        for row in _claim_batch(engine, due[start : start + CLAIM_BATCH], now):
            outcome = _deliver(config, engine, row, now)
            setattr(report, outcome, getattr(report, outcome) + 1)
    return report


CLAIM_BATCH = 50  # rows claimed per UPDATE: one commit for many messages


def _due(engine: Engine, now: datetime, limit: int) -> list[int]:
    stale = now - LEASE
    with session_scope(engine) as session:
        query = (
            select(OutboxRow.id)
            .where(
                or_(
                    (col(OutboxRow.status) == "pending") & (col(OutboxRow.next_attempt_at) <= now),
                    (col(OutboxRow.status) == "sending") & (col(OutboxRow.claimed_at) < stale),
                )
            )
            .order_by(col(OutboxRow.id))
            .limit(limit)
        )
        return [i for i in session.exec(query) if i is not None]


def _claim_batch(engine: Engine, row_ids: list[int], now: datetime) -> list[OutboxRow]:
    """Claim the rows nobody else holds, in one conditional UPDATE; return those this worker got."""
    token = uuid.uuid4().hex
    stale = now - LEASE
    with session_scope(engine) as session:
        session.execute(
            update(OutboxRow)
            .where(col(OutboxRow.id).in_(row_ids))
            .where(
                or_(
                    col(OutboxRow.status) == "pending",
                    (col(OutboxRow.status) == "sending") & (col(OutboxRow.claimed_at) < stale),
                )
            )
            .values(status="sending", claimed_at=now, claim_token=token)
        )
        return list(session.exec(select(OutboxRow).where(OutboxRow.claim_token == token).order_by(col(OutboxRow.id))))


def _claim(engine: Engine, row_id: int, now: datetime) -> OutboxRow | None:
    token = uuid.uuid4().hex
    stale = now - LEASE
    with session_scope(engine) as session:
        claimed = session.execute(
            update(OutboxRow)
            .where(col(OutboxRow.id) == row_id)
            .where(
                or_(
                    col(OutboxRow.status) == "pending",
                    (col(OutboxRow.status) == "sending") & (col(OutboxRow.claimed_at) < stale),
                )
            )
            .values(status="sending", claimed_at=now, claim_token=token)
        )
        if claimed.rowcount != 1:  # type: ignore[attr-defined]
            return None
        return session.get(OutboxRow, row_id)


def _deliver(config: Config, engine: Engine, row: OutboxRow, now: datetime) -> str:
    from tracker.notify.channels import body_kind, send

    channel = config.channels.get(row.channel)
    if channel is None:
        return _finish(engine, row, now, [], [f"channel {row.channel!r} is no longer in the config"], permanent=True)
    transient: list[str] = []
    permanent: list[str] = []
    todo = [url for url in channel.urls if target_key(url) not in set(row.done_targets)]
    last: Attempt | None = None
    for index, url in enumerate(todo):
        title, body, body_format = render(row, body_kind(url))
        outcome = send([url], title, body, body_format, config.secrets)[0]
        if not outcome.ok:
            (permanent if outcome.permanent else transient).append(f"{outcome.target}: {outcome.error}")
        last = (target_key(url), outcome.target, outcome.ok, outcome.permanent, outcome.error)
        if index < len(todo) - 1:
            _record(engine, row, last, now)  # committed now: a crash before the next target cannot re-send it
            last = None
    return _finish(engine, row, now, transient, permanent, bool(permanent) and not transient, last)


def render(row: OutboxRow, kind: str) -> tuple[str, str, str]:
    from tracker.notify.render import render_alert, render_digest

    if row.kind == "digest":
        from tracker.notify.digest import digest_from_payload

        rendered: tuple[str, str, str] = render_digest(digest_from_payload(row.payload), kind)
        return rendered
    if row.kind == "test":
        return str(row.payload["title"]), str(row.payload["body"]), "text"
    if row.kind == "reminder":
        from tracker.notify.pipeline import reminder_from_payload
        from tracker.notify.render import render_reminder

        reminded: tuple[str, str, str] = render_reminder(reminder_from_payload(row.payload), kind)
        return reminded
    from tracker.notify.pipeline import alert_from_payload

    alert: tuple[str, str, str] = render_alert(alert_from_payload(row.payload), kind)
    return alert


def target_key(url: str) -> str:
    """Which targets already got a row's message: a hash of the raw URL (two URLs whose privacy forms look alike
    stay apart, and no secret is stored)."""
    return hashlib.sha256(url.encode("utf-8")).hexdigest()[:20]


Attempt = tuple[str, str, bool, bool, str | None]  # target key, target (privacy form), ok, permanent, error


def _record(engine: Engine, row: OutboxRow, attempt: Attempt, now: datetime) -> None:
    """One target's outcome, committed at once (with the row's done list) so a crash cannot make it re-send."""
    with session_scope(engine) as session:
        _add_attempt(session, row, attempt, now)


def _add_attempt(session: Session, row: OutboxRow, attempt: Attempt, now: datetime) -> None:
    key, target, ok, permanent, error = attempt
    session.add(
        DeliveryRow(outbox_id=row.id or 0, target=target, attempted_at=now, ok=ok, permanent=permanent, error=error)
    )
    if ok:
        stored = session.get(OutboxRow, row.id)
        if stored is not None:
            stored.done_targets = sorted({*stored.done_targets, key})
            session.add(stored)


def _finish(
    engine: Engine,
    row: OutboxRow,
    now: datetime,
    transient: list[str],
    problems: list[str],
    permanent: bool,
    attempt: Attempt | None = None,
) -> str:
    """The row's new state, in the same transaction as its last target's outcome (one commit per message)."""
    with session_scope(engine) as session:
        if attempt is not None:
            _add_attempt(session, row, attempt, now)
        stored = session.get(OutboxRow, row.id)
        assert stored is not None
        stored.attempts += 1
        stored.claim_token = None
        errors = problems + transient
        stored.last_error = "; ".join(errors)[:1000] if errors else None
        outcome = _next_state(stored, now, bool(transient), permanent)
        session.add(stored)
    return outcome


def _next_state(row: OutboxRow, now: datetime, transient: bool, permanent: bool) -> str:
    if permanent:
        row.status = "failed"
        return "failed"
    if not transient:
        row.status, row.sent_at = "sent", now
        return "sent"
    retry_at = next_attempt(utc(row.created_at), row.attempts, now)
    if retry_at is None:
        row.status = "failed"
        return "failed"
    row.status, row.next_attempt_at = "pending", retry_at
    return "retrying"


def retry(engine: Engine, row_id: int, now: datetime) -> bool:
    """`tracker deliveries retry ID`: a failed (or waiting) row is due again now, with a fresh retry budget."""
    with session_scope(engine) as session:
        row = session.get(OutboxRow, row_id)
        if row is None or row.status == "sent":
            return False
        row.status, row.next_attempt_at, row.created_at, row.attempts = "pending", now, now, 0
        session.add(row)
    return True


def deliveries(session: Session, status: str | None = None) -> list[tuple[OutboxRow, list[DeliveryRow]]]:
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
