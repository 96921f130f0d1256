"""Use cases of the outbox and the digests: one pass over the outbox, a channel's sender, the digest's minute."""

from datetime import datetime

from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError

from tracker.config import Config
from tracker.domain.words import count
from tracker.jobs.health import queue_health_notices
from tracker.notify import digest as digests
from tracker.notify.digest import queue_due_digests
from tracker.notify.outbox import Sender, Stop, WorkReport, work_channel, work_outbox
from tracker.notify.pipeline import queue_reminders
from tracker.notify.render import render_digest
from tracker.store import fastpath
from tracker.store.db import session_scope
from tracker.store.outbox import due_channels


def digest_now(config: Config, engine: Engine, now: datetime, send: bool) -> str:
    """`tracker digest --preview` (the text of each channel's digest) or `--send` (queue and deliver them now)."""

    with session_scope(engine) as session:
        if not send:
            previews = digests.preview(config, session, now)
            if not previews:
                return "no watchlist has a digest channel: add `digest: [CHANNEL]` to a watchlist"
            return "\n\n".join(f"--- digest for {d.channel} ---\n" + render_digest(d, "text")[1] for d in previews)
        queued = digests.send_now(config, session, now)
    report = work_outbox(config, engine, now)
    return (
        f"{count(queued, 'digest')} queued: {report.sent} sent, {report.retrying} waiting for a retry, "
        f"{report.failed} failed"
    )


def outbox_tick(config: Config, engine: Engine, now: datetime, stop: Stop | None = None) -> str:
    """`tracker poll` and `tracker run --once`: remind of snoozes that reopened, then one pass over the outbox, each
    channel on its own sender (a hung receiver costs its own channel one deadline, and no other channel anything)."""
    reminded, noticed = _queue_tellings(config, engine, now)
    report = work_outbox(config, engine, now, stop)
    told = f"{count(reminded, 'reopened snooze')} to tell; " if reminded else ""
    told += f"{count(noticed, 'health notice')} for the operators; " if noticed else ""
    return f"outbox: {told}{outbox_line(report)}"


def channel_tick(config: Config, engine: Engine, channel: str, now: datetime, stop: Stop) -> str:
    """The service's sender for one channel: its due rows, in order; "" when there was nothing to send. Woken after
    every job of every tick, it first asks the store's fast path whether anything at all waits (no ORM query)."""
    if fastpath.outbox_idle(config.database, now):
        return ""
    report = work_channel(Sender.of(config, engine, stop), channel, now)
    return "" if report.idle else f"outbox: {channel}: {outbox_line(report)}"


def outbox_chores(config: Config, engine: Engine, now: datetime, stop: Stop) -> str:
    """The service's minute for the outbox besides the channels' senders: queue reminders of snoozes that reopened,
    and fail the rows of channels no longer in the config. "" when there was nothing to do."""
    reminded, noticed = _queue_tellings(config, engine, now)
    sender = Sender.of(config, engine, stop)
    gone = [c for c in due_channels(engine, now, sender.terms) if c not in config.channels]
    failed = sum(work_channel(sender, channel, now).failed for channel in gone)
    parts = []
    if reminded:
        parts.append(f"{count(reminded, 'reopened snooze')} to tell")
    if noticed:
        parts.append(f"{count(noticed, 'health notice')} for the operators")
    if failed:
        parts.append(f"{count(failed, 'message')} of channels no longer in the config failed")
    return f"outbox: {'; '.join(parts)}" if parts else ""


def _queue_tellings(config: Config, engine: Engine, now: datetime) -> tuple[int, int]:
    """What each outbox pass queues first: reminders of snoozes that reopened, and the operators' health notices."""

    with session_scope(engine) as session:
        reminded = queue_reminders(config, session, now)
    return reminded, queue_health_notices(config, engine, now)


def outbox_line(report: WorkReport) -> str:
    line = f"{report.sent} sent, {report.retrying} waiting for a retry, {report.failed} failed"
    if report.abandoned:
        line += f", {report.abandoned} given back at shutdown (sent again on restart)"
    if report.lost:
        line += f", {report.lost} outlived its claim (another sender's result stands)"
    return line


def digest_tick(config: Config, engine: Engine, now: datetime, send: bool = True) -> str:
    """The service's minute for digests: queue those whose scheduled time has come, then (unless the service's
    channel senders do it) deliver them. Of two replicas queueing the same period at once, one commits and the
    other's insert breaks the outbox's unique (dedup_key, channel): its transaction is rolled back whole, and the
    winner's digest goes out."""

    try:
        with session_scope(engine) as session:
            queued = queue_due_digests(config, session, now)
    except IntegrityError:
        return "digest: queued by another process just now"
    if not queued:
        return "digest: nothing due"
    if not send:
        return f"digest: {queued} queued"
    report = work_outbox(config, engine, now)
    return f"digest: {queued} queued, {report.sent} sent"
