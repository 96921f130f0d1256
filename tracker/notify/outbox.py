"""Working the outbox: each channel's due rows in order, one row claimed at a time, sent through apprise target by
target, each outcome recorded.

- Each channel has its own sender (a thread: `work_outbox` starts one per channel with due rows, the service keeps
  one per channel), so a slow or hung channel delays only its own messages, never another channel nor a poll.
- A sender claims one row at a time (tracker/store/outbox.py `claim_next`, one conditional UPDATE: of two workers,
  one wins) and renews the claim while it sends. A sender that dies holds only the message in flight, until its
  claim goes stale (config `delivery.claim_timeout`, a minute); that message may then go out twice, no other.
- Each send to one target has a deadline in all (config `delivery.deadline`, 30 s): a receiver that hangs or
  trickles costs that much once, the attempt is a transient failure, and the channel's pass ends there (its other
  rows wait for the next pass instead of each costing a deadline).
- Each target's success is committed as soon as it is known, so a retry never re-sends to a target that already
  got the message. Every write is conditional on the sender's claim: a send that outlived its claim records nothing.
- Transient failures are retried with backoff (domain/alerts.py: 1 min, 5 min, 30 min, 2 h, then every 6 h up to
  a day) and then marked failed; permanent ones (a URL apprise cannot load, NOMATCH) fail at once.
- A sender told to stop (`Stop`, SIGTERM) stops waiting for the send in flight, gives its row back (due again at
  once: a restart sends it) and claims nothing more.
"""

import hashlib
import logging
import queue
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, fields, replace
from datetime import datetime

from sqlalchemy import Engine

from tracker.config import Config
from tracker.notify.channels import Outgoing, TargetOutcome, body_kind, start, too_late
from tracker.notify.digest import digest_from_payload
from tracker.notify.pipeline import alert_from_payload, reminder_from_payload
from tracker.notify.render import render_alert, render_digest, render_notice, render_reminder
from tracker.store import MessageKind, outbox
from tracker.store.db import unreachable
from tracker.store.outbox import Attempt, ClaimTerms, Cursor, Delivery, Result
from tracker.store.records import OutboxMessage

log = logging.getLogger(__name__)


@dataclass
class WorkReport:
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    lost: int = 0  # sends that outlived their claim: another worker's result stands
    abandoned: int = 0  # sends given up at a stop: the rows are due again at once

    def add(self, result: Result) -> None:
        setattr(self, result.value, getattr(self, result.value) + 1)

    def merge(self, other: "WorkReport") -> None:
        for field in fields(self):
            setattr(self, field.name, getattr(self, field.name) + getattr(other, field.name))

    @property
    def idle(self) -> bool:
        return not any(getattr(self, field.name) for field in fields(self))


class Stop:
    """Tells senders to stop: each claims nothing more, and a wait for a send in flight ends at once."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._set = False
        self._waits: set[threading.Event] = set()

    def set(self) -> None:
        with self._lock:
            self._set = True
            for wait in self._waits:
                wait.set()

    def is_set(self) -> bool:
        with self._lock:
            return self._set

    @contextmanager
    def waking(self, wait: threading.Event) -> Iterator[None]:
        """While inside, a stop sets `wait` (a send's `done`), so whoever waits on it wakes at once."""
        with self._lock:
            self._waits.add(wait)
            if self._set:
                wait.set()
        try:
            yield
        finally:
            with self._lock:
                self._waits.discard(wait)


@dataclass(frozen=True)
class Sender:
    """What a channel's sender works with: the config (channels, deadline), the database, its stop, its claims."""

    config: Config
    engine: Engine
    stop: Stop
    terms: ClaimTerms

    @classmethod
    def of(cls, config: Config, engine: Engine, stop: Stop | None = None) -> "Sender":
        return cls(config, engine, stop or Stop(), ClaimTerms(config.delivery.claim_timeout))


MAX_SENDERS = 8  # channels sent side by side: each holds a database connection now and then (the pool has 5 + 10)


def work_outbox(config: Config, engine: Engine, now: datetime, stop: Stop | None = None) -> WorkReport:
    """One pass over every channel with due rows, up to MAX_SENDERS channels side by side (a channel's rows in
    order, on one sender); returns when all are done. A hung channel holds one sender, never the others."""
    sender = Sender.of(config, engine, stop)
    channels: queue.SimpleQueue[str] = queue.SimpleQueue()
    due = outbox.due_channels(engine, now, sender.terms)
    for channel in due:
        channels.put(channel)
    reports: list[WorkReport] = []
    threads = [
        threading.Thread(target=_collect, args=(sender, channels, now, reports), name=f"sender {n}", daemon=True)
        for n in range(min(MAX_SENDERS, len(due)))
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    report = WorkReport()
    for each in reports:
        report.merge(each)
    return report


def _collect(sender: Sender, channels: "queue.SimpleQueue[str]", now: datetime, reports: list[WorkReport]) -> None:
    while True:
        try:
            channel = channels.get_nowait()
        except queue.Empty:
            return
        reports.append(work_channel(sender, channel, now))  # list.append is atomic: no lock needed


def work_channel(sender: Sender, channel: str, now: datetime) -> WorkReport:
    """Deliver the channel's due rows, oldest first, one claimed at a time; stop after a send that missed its
    deadline (the channel is stalled: its other rows wait for the next pass) or when told to."""
    report = WorkReport()
    cursor = Cursor(channel, now)
    while not sender.stop.is_set() and (row := outbox.claim_next(sender.engine, cursor, sender.terms)) is not None:
        result, stalled = _deliver(sender, row, now)
        report.add(result)
        if stalled or result == Result.ABANDONED:
            break
        cursor = replace(cursor, after=row.id)
    return report


def _deliver(sender: Sender, row: OutboxMessage, now: datetime) -> tuple[Result, bool]:
    """Send the row to each of its channel's targets not yet done; the row's result, and whether a send was late."""
    channel = sender.config.channels.get(row.channel)
    if channel is None:
        gone = Delivery(permanent=(f"channel {row.channel!r} is no longer in the config",))
        return outbox.finish(sender.engine, row, gone, now), False
    unset = sender.config.unset(f"channels.{row.channel}")
    if unset:  # its ${VAR} has no value: say so, not what apprise makes of a literal ${VAR}
        why = ", ".join(f"environment variable {var} (or {var}_FILE) is not set" for _, var in unset)
        return outbox.finish(sender.engine, row, Delivery(permanent=(f"channel {row.channel!r}: {why}",)), now), False
    transient: list[str] = []
    permanent: list[str] = []
    todo = [url for url in channel.urls if target_key(url) not in set(row.done_targets)]
    last: Attempt | None = None
    late = False
    with _renewing(sender, row):
        for index, url in enumerate(todo):
            outcome = _attempt(sender, row, url)
            if outcome is None:  # told to stop while it was sending
                outbox.release(sender.engine, row)
                return Result.ABANDONED, late
            late = late or outcome.late
            if not outcome.ok:
                (permanent if outcome.permanent else transient).append(f"{outcome.target}: {outcome.error}")
            last = Attempt(target_key(url), outcome.target, outcome.ok, outcome.permanent, outcome.error)
            if index < len(todo) - 1:
                recorded = outbox.record(sender.engine, row, last, now)  # committed now: a crash cannot re-send it
                if recorded is None:
                    return Result.LOST, late
                row, last = recorded, None
        delivery = Delivery(tuple(transient), tuple(permanent), last)
        return _written(sender, lambda: outbox.finish(sender.engine, row, delivery, now)), late


def _written(sender: Sender, write: Callable[[], Result]) -> Result:
    """Record what was sent, trying again while the database is away: the message went out, and only its record
    stops a second send once the database is back (the claim is still this sender's for `claim_timeout`)."""

    delay = 0.5
    while True:
        try:
            return write()
        except Exception as error:
            if not unreachable(error) or sender.stop.is_set():
                raise
            stopped = threading.Event()
            with sender.stop.waking(stopped):
                stopped.wait(delay)
            delay = min(delay * 2, 5.0)


def _attempt(sender: Sender, row: OutboxMessage, url: str) -> TargetOutcome | None:
    """One target's outcome within the deadline; None when the sender was told to stop before it came."""

    title, body, body_format = render(row, body_kind(url), sender.config.timezone)
    sending = start(url, Outgoing(title, body, body_format, idempotency_key(row)), sender.config.secrets)
    deadline = sender.config.delivery.deadline
    with sender.stop.waking(sending.done):
        outcome = sending.wait(deadline)
    if outcome is None and sender.stop.is_set():
        return None
    return outcome or too_late(sending.target, deadline)


@contextmanager
def _renewing(sender: Sender, row: OutboxMessage) -> Iterator[None]:
    """Renew the row's claim every third of the claim timeout while the block runs."""
    done = threading.Event()
    every = sender.terms.timeout.total_seconds() / 3

    def renew() -> None:
        while not done.wait(every):
            try:
                if not outbox.renew(sender.engine, row.claim_token or "", sender.terms):
                    return  # taken over or finished: its writes will say so
            except Exception as error:  # a database hiccup: the next renewal (or the claim timeout) settles it
                log.warning("outbox: could not renew the claim on message %s: %s", row.id, type(error).__name__)

    thread = threading.Thread(target=renew, name=f"renew {row.id}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()


def idempotency_key(row: OutboxMessage) -> str:
    """The same for every send of one message to one channel, different for every other: a receiver may drop a
    re-send by it."""
    return hashlib.sha256(f"{row.dedup_key}:{row.channel}".encode()).hexdigest()[:32]


def render(row: OutboxMessage, kind: str, zone: str = "UTC") -> tuple[str, str, str]:
    """The row's message for one kind of channel, its times in `zone` (the config's `timezone`; a digest carries
    the zone it was made for)."""

    if row.kind is MessageKind.DIGEST:
        rendered: tuple[str, str, str] = render_digest(digest_from_payload(row.payload), kind)
        return rendered
    if row.kind is MessageKind.NOTICE:
        noticed: tuple[str, str, str] = render_notice(row.payload, kind, zone)
        return noticed
    if row.kind is MessageKind.REMINDER:
        reminded: tuple[str, str, str] = render_reminder(reminder_from_payload(row.payload), kind, zone)
        return reminded

    alert: tuple[str, str, str] = render_alert(alert_from_payload(row.payload), kind, zone)
    return alert


def target_key(url: str) -> str:
    """Which targets already got a row's message: a hash of the raw URL (two URLs whose privacy forms look alike
    stay apart, and no secret is stored)."""
    return hashlib.sha256(url.encode("utf-8")).hexdigest()[:20]
