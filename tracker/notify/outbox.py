"""Working the outbox: claim a due row atomically, send it through apprise target by target, record each outcome.

- Claiming is one conditional UPDATE (tracker/store/outbox.py `claimable`): of two workers, one wins.
- Each target's success is committed as soon as it is known, so a retry never re-sends to a target that already
  got the message. A row left `sending` by a process that died is claimed again once its lease has run out.
- Transient failures are retried with backoff (domain/alerts.py: 1 min, 5 min, 30 min, 2 h, then every 6 h up to
  a day) and then marked failed; permanent ones (a URL apprise cannot load, NOMATCH) fail at once.
"""

import hashlib
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine

from tracker.config import Config
from tracker.store import outbox
from tracker.store.models import OutboxRow
from tracker.store.outbox import Attempt, Delivery, MessageKind, Result


@dataclass
class WorkReport:
    sent: int = 0
    retrying: int = 0
    failed: int = 0

    def add(self, result: Result) -> None:
        setattr(self, result.value, getattr(self, result.value) + 1)


CLAIM_BATCH = 50  # rows claimed per UPDATE: one commit for many messages


def work_outbox(config: Config, engine: Engine, now: datetime, limit: int = 10_000) -> WorkReport:
    """Deliver every due row (at most `limit`)."""
    report = WorkReport()
    due = outbox.due(engine, now, limit)
    for start in range(0, len(due), CLAIM_BATCH):
        for row in outbox.claim(engine, due[start : start + CLAIM_BATCH], now):
            report.add(_deliver(config, engine, row, now))
    return report


def _deliver(config: Config, engine: Engine, row: OutboxRow, now: datetime) -> Result:
    from tracker.notify.channels import body_kind, send  # apprise, loaded only when a message goes out

    channel = config.channels.get(row.channel)
    if channel is None:
        gone = Delivery(permanent=(f"channel {row.channel!r} is no longer in the config",))
        return outbox.finish(engine, row, gone, now)
    transient: list[str] = []
    permanent: list[str] = []
    todo = [url for url in channel.urls if target_key(url) not in set(row.done_targets)]
    last: Attempt | None = None
    for index, url in enumerate(todo):
        title, body, body_format = render(row, body_kind(url))
        outcome = send([url], title, body, body_format, config.secrets)[0]
        if not outcome.ok:
            (permanent if outcome.permanent else transient).append(f"{outcome.target}: {outcome.error}")
        last = Attempt(target_key(url), outcome.target, outcome.ok, outcome.permanent, outcome.error)
        if index < len(todo) - 1:
            outbox.record(engine, row, last, now)  # committed now: a crash before the next target cannot re-send it
            last = None
    return outbox.finish(engine, row, Delivery(tuple(transient), tuple(permanent), last), now)


def render(row: OutboxRow, kind: str) -> tuple[str, str, str]:
    from tracker.notify.render import render_alert, render_digest

    if row.kind == MessageKind.DIGEST:
        from tracker.notify.digest import digest_from_payload

        rendered: tuple[str, str, str] = render_digest(digest_from_payload(row.payload), kind)
        return rendered
    if row.kind == MessageKind.REMINDER:
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
