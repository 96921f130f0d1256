"""The poll use case: one function, `poll`, behind every entry point (`tracker poll`, each tick of `tracker run`,
`tracker run --once`, `POST /api/v1/poll`, the demo). A caller says what it wants around the cycle in one frozen
`AfterPoll` value and gets one frozen `PollResult` back, which it only turns into an exit code, a log line or an HTTP
answer. The cycle itself is tracker/cycle/.

The rules, once for all callers:
- another process's cycle holds the poll lease: wait up to `AfterPoll.wait` seconds for it, then do nothing and say
  who holds it (`PollResult.blocked_by`);
- the lease ran out during the cycle and another process took it: the cycle stopped before writing anything more
  (`PollResult.lease_lost`, the reason);
- the outbox (`AfterPoll.outbox`) is worked after the cycle whatever the cycle did: deliveries need no poll lease,
  and a cycle another process ran may have queued what is due;
- memory is given back (`AfterPoll.give_memory_back`, a process that idles afterwards) only after a cycle that did
  work or an outbox pass: a cycle of unchanged pages allocates little.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING

from tracker.config import Config
from tracker.cycle import Hooks, PollReport, Request, run_cycle
from tracker.cycle.report import outcome_tally
from tracker.domain.outcomes import FetchOutcome
from tracker.domain.words import count
from tracker.store import LeaseLost
from tracker.store.fastpath import outbox_idle

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from tracker.cycle.fetch import Watch
    from tracker.store.leases import Held

POLL_WAIT = 60.0  # seconds the service's (and the web's) cycle waits for another process's; then it tries next tick


class Outbox(StrEnum):
    """Whether the outbox is worked once the cycle is over:
    - NO: each tick of the service, whose channels' senders deliver, woken after the cycle;
    - IF_DUE: `tracker poll`, only when a channel is configured and a message is due, so that a quiet cycle loads
      neither the ORM nor apprise;
    - YES: `tracker run --once`, the web, the demo: reopened snoozes and health notices queued, then one pass."""

    NO = "no"
    IF_DUE = "if due"
    YES = "yes"


@dataclass(frozen=True)
class AfterPoll:
    """What a caller wants around its cycle."""

    wait: float = 0.0  # seconds to wait for another process's cycle before giving up (`blocked_by`)
    outbox: Outbox = Outbox.NO
    give_memory_back: bool = False  # the process idles afterwards (the service, the web)


@dataclass(frozen=True)
class Listeners:
    """What a caller hears while its poll runs: how far the cycle's fetches are (a terminal's progress line), that
    the cycle starts waiting for another process's, and that the outbox is about to load apprise (`tracker poll`
    checks the channels' URLs then: only when there is something to send, as apprise costs a quiet cycle 0.2 s).
    None of it changes what the poll does."""

    progress: "Watch | None" = None
    on_wait: "Callable[[Held], None] | None" = None
    before_sending: Callable[[], None] | None = None


@dataclass(frozen=True)
class PollResult:
    """What one poll did: the cycle's report (None when the lease was lost), and the outbox pass's line."""

    request: Request
    report: PollReport | None
    lease_lost: str | None = None  # why the cycle stopped before writing anything more
    outbox: str | None = None  # `outbox: 2 sent, ...` when the outbox was worked

    @property
    def blocked_by(self) -> "Held | None":
        """Another process's cycle held the lease for longer than the wait: this one did nothing."""
        return self.report.blocked_by if self.report is not None else None

    @property
    def worked(self) -> bool:
        """The cycle parsed pages and loaded the catalog (one where every page answered 304 did neither)."""
        outcomes = self.report.outcomes if self.report is not None else []
        return any(o.outcome != FetchOutcome.NOT_MODIFIED for o in outcomes)


def poll(
    config: Config,
    open_db: "Callable[[], Engine]",
    request: Request,
    after: AfterPoll,
    listen: Listeners = Listeners(),
) -> PollResult:
    """One poll cycle as `request` asks, then what `after` asks. `open_db` gives the database, migrated; it is called
    only when something needs SQLAlchemy (a cycle of unchanged pages on SQLite does not)."""
    try:
        report = run_cycle(config, open_db, request, Hooks(listen.progress, listen.on_wait, after.wait))
        lost = None
    except LeaseLost as error:
        report, lost = None, str(error)
    outbox = _outbox(config, open_db, request.now, after.outbox, listen.before_sending)
    result = PollResult(request, report, lost, outbox)
    if after.give_memory_back and (result.worked or outbox is not None):
        give_memory_back()
    return result


def _outbox(
    config: Config, open_db: "Callable[[], Engine]", now: datetime, when: Outbox, before: Callable[[], None] | None
) -> str | None:
    """The outbox pass's line, or None when it was not worked."""
    if when == Outbox.NO:
        return None
    if when == Outbox.IF_DUE and (not config.channels or outbox_idle(config.database, now)):
        return None  # the outbox claims each message itself: nothing is lost by leaving it to the next pass
    if before is not None:
        before()
    from tracker.jobs.delivery import outbox_tick  # lazy: the ORM and notify, which a quiet `tracker poll` never loads

    return outbox_tick(config, open_db(), now)


def give_memory_back() -> None:
    """Return the pages, trees and catalog of the cycle just recorded to the system, not only to the allocator:
    a service idles between cycles for most of its life (glibc only; elsewhere the collection alone)."""
    # lazy: ctypes, only in a process that idles after its work
    import ctypes
    import ctypes.util
    import gc

    gc.collect()
    libc = ctypes.util.find_library("c")
    trim = getattr(ctypes.CDLL(libc), "malloc_trim", None) if libc else None
    if trim is not None:
        trim(0)


def poll_line(result: PollResult) -> str:
    """The log line of one cycle (the service's ticks, `--once`, the web's poll): what each source did, and what
    failed, with the reason. The outbox's line is the result's own (`result.outbox`)."""
    report = result.report
    if report is None:
        return f"poll: {result.lease_lost}"
    if report.blocked_by is not None:
        return f"poll: skipped, another poll cycle still runs ({report.blocked_by.holder})"
    if not report.outcomes:
        return "poll: no source due"
    counts: dict[str, int] = {}
    for outcome in report.outcomes:
        counts[outcome.outcome] = counts.get(outcome.outcome, 0) + 1
    problems = "".join(f"; {o.source_id} {o.outcome}: {o.error}" for o in report.outcomes if o.error)
    return (
        f"poll: {count(len(report.outcomes), 'page')}: {outcome_tally(counts)}{problems}; "
        f"{count(len(report.events), 'event')}, {count(report.queued, 'alert')} queued"
    )
