"""The poll cycle, with `now` passed in: every configured source fetched (conditional GET), parsed, diffed against
the catalog and stored one source per transaction, the release notes their rows link to followed, availability
pulls settled at the end, alerts queued for the new events. One cycle runs at a time across processes (the `poll`
lease, tracker/store/leases.py). tracker/quickpoll.py records a cycle where every page answered 304 without this."""

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from tracker.config import Config, SourceConfig, user_agent
from tracker.domain.catalog import Catalog, Policy
from tracker.domain.diff import Change, observe, observe_unchanged, record_failure, settle
from tracker.domain.events import Event
from tracker.domain.observations import ParseResult
from tracker.domain.roles import SourceRole
from tracker.domain.versions import Product
from tracker.http import Document, Fetcher, FetchError, HttpSettings, NotModified, Validators, build_client
from tracker.sources import REGISTRY
from tracker.store import leases, repo
from tracker.store.db import session_scope
from tracker.store.models import EventRow, FetchRow, SourceRow

if TYPE_CHECKING:
    from tracker.preparse import Preparsed

log = logging.getLogger(__name__)


@dataclass
class SourceOutcome:
    source_id: str
    outcome: str  # parsed | not_modified | error | anomaly
    rows: int = 0
    skipped: list[dict[str, str]] = field(default_factory=list)  # where, text, reason
    error: str | None = None


@dataclass
class PollReport:
    outcomes: list[SourceOutcome] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    event_ids: list[int] = field(default_factory=list)
    queued: int = 0  # alerts queued for the new events
    delivered: Any = None  # the outbox work done at the end of the cycle
    blocked_by: "leases.Held | None" = None  # another cycle held the poll lease: this one did nothing


Progress = Callable[[str], None]


def policy_of(config: Config) -> Policy:
    p = config.policy
    return Policy(p.pull_confirmations, p.max_drop_ratio, p.failing_after, p.cooldown_days)


def sync_sources(session: Session, config: Config, now: datetime) -> None:
    """Make the source table match the config: new sources added, changed ones updated, removed ones retired."""
    configured = {s.id: s for s in config.sources}
    for row in session.exec(select(SourceRow).where(col(SourceRow.configured).is_(True))):
        wanted = configured.pop(row.id, None)
        row.active = wanted is not None
        if wanted is not None:
            # The stored URL is what people see (sources, evidence): a download token from ${VAR} is masked.
            row.kind, row.url, row.product = wanted.kind, config.mask(wanted.url), wanted.product
            row.role = REGISTRY[wanted.kind].role.value
        session.add(row)
    for source in configured.values():
        role = REGISTRY[source.kind].role.value
        url = config.mask(source.url)
        session.add(
            SourceRow(id=source.id, kind=source.kind, url=url, product=source.product, role=role, created_at=now)
        )


def poll_once(
    config: Config,
    engine: Engine,
    now: datetime,
    only: str | None = None,
    progress: Progress | None = None,
    prefetched: dict[str, Any] | None = None,
    preparsed: "Preparsed | None" = None,
    wait: float = 0.0,
    on_wait: Callable[[leases.Held], None] | None = None,
) -> PollReport:
    """One whole cycle: every configured source (or `only`), then the release notes their rows link to.
    `prefetched`: answers already fetched this cycle (tracker/quickpoll.py); `preparsed`: their parses under way in
    worker processes (tracker/preparse.py). One cycle runs at a time (the `poll` lease, tracker/store/leases.py):
    while another holds it this one waits up to `wait` seconds (`on_wait` hears who), then gives up and reports
    `blocked_by`."""
    holder = leases.holder_id()
    report = PollReport()
    held = leases.try_acquire(engine, POLL_LEASE, holder, LEASE_TTL)
    if held is not None:
        if on_wait is not None and wait > 0:
            on_wait(held)
        report.blocked_by = leases.acquire(engine, POLL_LEASE, holder, LEASE_TTL, wait)
        if report.blocked_by is not None:
            return report
        prefetched = preparsed = None  # fetched before the other cycle ended: fetch again
    try:
        _poll_cycle(config, engine, now, only, progress, prefetched, preparsed, report, holder)
    finally:
        _release(engine, holder)
    if config.channels:  # delivery holds no lease: the outbox claims each message itself
        from tracker.notify.outbox import work_outbox

        report.delivered = work_outbox(config, engine, now)
    return report


def _release(engine: Engine, holder: str) -> None:
    """Free the lease; a failure to do so is logged, not raised over the cycle's own error (it expires anyway)."""
    try:
        leases.release(engine, POLL_LEASE, holder)
    except Exception as error:
        log.warning("could not free the poll lease (%s); it expires by itself", type(error).__name__)


POLL_LEASE = "poll"
LEASE_TTL = timedelta(minutes=15)  # renewed as the cycle goes; a holder that died frees it after this


def _poll_cycle(
    config: Config,
    engine: Engine,
    now: datetime,
    only: str | None,
    progress: Progress | None,
    prefetched: dict[str, Any] | None,
    preparsed: "Preparsed | None",
    report: PollReport,
    holder: str,
) -> None:
    settings = HttpSettings(
        user_agent(config), config.http.timeout, config.http.max_bytes, config.http.politeness_delay
    )
    wanted = [config.source(only)] if only else list(config.sources)
    with session_scope(engine) as session:
        sync_sources(session, config, now)
        pending = repo.sources_with_pending_misses(session)
        baselines = repo.load_baselines(session)
        rows = {r.id: r for r in session.exec(select(SourceRow).where(col(SourceRow.id).in_([s.id for s in wanted])))}
    with build_client(settings) as client:
        cycle = _Cycle(config, engine, Fetcher(client, settings), now, report, progress, pending, baselines)
        cycle.prefetched = dict(prefetched or {})
        cycle.preparsed = preparsed
        cycle.holder = holder
        for source in wanted:
            cycle.poll(rows[source.id])
            cycle.follow_links(source)
        cycle.settle()
        cycle.renew_lease(force=True)
    report.queued = queue_alerts_for(config, engine, now, report.event_ids)


def queue_alerts_for(config: Config, engine: Engine, now: datetime, event_ids: list[int]) -> int:
    """Queue the alerts for new events, in one transaction."""
    from tracker.notify.pipeline import queue_alerts

    if not event_ids:
        return 0
    with session_scope(engine) as session:
        events = list(session.exec(select(EventRow).where(col(EventRow.id).in_(event_ids))))
        return queue_alerts(config, session, events, now)


Answer = Document | NotModified | FetchError


@dataclass
class _Cycle:
    config: Config
    engine: Engine
    fetcher: Fetcher
    now: datetime
    report: PollReport
    progress: Progress | None
    pending: set[str]  # sources with a vanished row still waiting for confirmation
    baselines: dict[Product, datetime]
    _catalog: Catalog | None = None
    prefetched: dict[str, Answer] = field(default_factory=dict)
    preparsed: "Preparsed | None" = None
    holder: str = ""  # of the poll lease, renewed as the cycle goes
    _renewed: float = field(default_factory=time.monotonic)

    def poll(self, snapshot: SourceRow) -> None:
        """Fetch one source (no transaction is held open while the network answers), then diff and store it in
        one transaction. `snapshot` is the source's row as read at the start of the cycle."""
        if self.progress:
            self.progress(snapshot.id)
        url = self._real_url(snapshot)
        # A multi-document kind's root rarely changes while its parts do (the depot index vs its metadata.zip):
        # it is always read through, never answered by a 304.
        conditional = not REGISTRY[snapshot.kind].multi_document
        validators = Validators(snapshot.etag, snapshot.last_modified) if conditional else Validators()
        first = self.prefetched.pop(snapshot.id, None) or self._fetch(url, validators)
        collected = self._collect(snapshot, first)
        if isinstance(collected, Document) and self.preparsed is not None:  # parsed in a worker already?
            collected = self.preparsed.take(snapshot.id) or collected
        answer = first if isinstance(collected, ParseResult) else collected
        if isinstance(answer, FetchError):
            answer = _masked(answer, self.config)
        self.renew_lease()
        with session_scope(self.engine) as session:
            row = session.get(SourceRow, snapshot.id)
            assert row is not None
            catalog = self._catalog_for(session, row, answer)
            parsed_early = collected if isinstance(collected, ParseResult) else None
            outcome, changes, parsed = self._diff(session, catalog, row, answer, parsed_early)
            repo.save_catalog(session, catalog)
            created = repo.record_changes(session, changes)
            if parsed is not None and REGISTRY[row.kind].role is SourceRole.INDEX:
                _sync_links(session, row, parsed, self.now)
        self.report.outcomes.append(outcome)
        self.report.events.extend(c for c in changes if isinstance(c, Event))
        self.report.event_ids.extend(row.id for row in created if row.id is not None)

    def renew_lease(self, force: bool = False) -> None:
        """Keep the poll lease before writing (every third of its time to live at least); when another process took
        it meanwhile, stop: it reads a catalog this cycle is about to change."""
        if not self.holder or (not force and time.monotonic() - self._renewed < LEASE_TTL.total_seconds() / 3):
            return
        self._renewed = time.monotonic()
        if not leases.renew(self.engine, POLL_LEASE, self.holder, LEASE_TTL):
            raise leases.LeaseLost(
                f"the poll lease ran out during this cycle (longer than {LEASE_TTL}) and another process took it;"
                " this cycle stopped before writing more"
            )

    def settle(self) -> None:
        """Decide, once every source has spoken, what builds gone from availability sources mean."""
        if self._catalog is None or not self._catalog.vanished:
            return
        self.renew_lease(force=True)
        with session_scope(self.engine) as session:
            changes = settle(self._catalog, self.now)
            repo.save_catalog(session, self._catalog)
            created = repo.record_changes(session, changes)
        self.report.events.extend(c for c in changes if isinstance(c, Event))
        self.report.event_ids.extend(row.id for row in created if row.id is not None)

    def _real_url(self, row: SourceRow) -> str:
        """Configured sources are fetched with the config's URL (the stored one has its secrets masked)."""
        if row.configured:
            for source in self.config.sources:
                if source.id == row.id:
                    return source.url
        return row.url

    def _fetch(self, url: str, validators: Validators) -> Answer:
        try:
            return self.fetcher.get(url, validators)
        except FetchError as error:
            return error

    def _collect(self, row: SourceRow, answer: Answer) -> Answer | ParseResult:
        """Kinds that span several documents (the depot, paged advisory listings) read the rest now, outside any
        transaction; a failure of any document is the source's failure."""
        kind = REGISTRY[row.kind]
        if not kind.multi_document or not isinstance(answer, Document):
            return answer
        fetch = _KindFetch(self.fetcher)
        try:
            return kind.collect(answer.content, url=answer.url, product=Product(row.product), fetch=fetch)
        except FetchError as error:
            return error

    def _catalog_for(self, session: Session, row: SourceRow, answer: Answer) -> Catalog:
        """The whole catalog, loaded once per cycle; an unchanged, healthy page with nothing pending needs only
        its own source's state, which keeps a poll of unchanged pages cheap."""
        quiet = isinstance(answer, NotModified) and row.health == "ok" and row.id not in self.pending
        if quiet and self._catalog is None:
            return repo.catalog_slice(row, self.baselines)
        if self._catalog is None:
            self._catalog = repo.load_catalog(session)
        if row.id not in self._catalog.sources:
            self._catalog.sources[row.id] = repo.source_state(row)
        return self._catalog

    def _diff(
        self, session: Session, catalog: Catalog, row: SourceRow, answer: Answer, parsed: ParseResult | None
    ) -> tuple[SourceOutcome, list[Change], ParseResult | None]:
        policy = policy_of(self.config)
        fetch = FetchRow(source_id=row.id, started_at=self.now, outcome="error", skipped=[])
        session.add(fetch)
        row.last_fetch_at = self.now
        if isinstance(answer, FetchError):
            fetch.error = str(answer)
            changes = record_failure(catalog, row.id, str(answer), policy, self.now)
            return SourceOutcome(row.id, "error", error=str(answer)), changes, None
        fetch.elapsed_ms = answer.elapsed_ms
        if isinstance(answer, NotModified):
            fetch.outcome, fetch.http_status = "not_modified", 304
            changes = observe_unchanged(catalog, row.id, policy, self.now)
            return SourceOutcome(row.id, "not_modified"), changes, None
        return self._parse_and_diff(session, catalog, row, answer, fetch, policy, parsed)

    def _parse_and_diff(
        self,
        session: Session,
        catalog: Catalog,
        row: SourceRow,
        doc: Document,
        fetch: FetchRow,
        policy: Policy,
        parsed: ParseResult | None,
    ) -> tuple[SourceOutcome, list[Change], ParseResult | None]:
        result = parsed or REGISTRY[row.kind].parse(doc.content, url=doc.url, product=Product(row.product))
        fetch.http_status, fetch.bytes, fetch.rows = doc.status, len(doc.content), len(result.records)
        fetch.skipped = [{"where": s.where, "text": s.text[:200], "reason": s.reason} for s in result.skipped]
        state = catalog.sources[row.id]
        first_poll = not state.baselined
        changes = observe(catalog, row.id, result, policy, self.now)
        if state.failures == 0 and result.advisories:
            changes += _advisory_changes(session, row, result, first_poll, self.now)
        if state.failures == 0:  # the guard passed: this page is the new reference for conditional GETs
            row.etag, row.last_modified = doc.validators.etag, doc.validators.last_modified
            fetch.outcome = "parsed"
            return SourceOutcome(row.id, "parsed", len(result.records), fetch.skipped), changes, result
        # An untrusted page: forget the validators so the next poll fetches it whole.
        row.etag = row.last_modified = None
        fetch.outcome, fetch.error = "anomaly", state.last_error
        outcome = SourceOutcome(row.id, "anomaly", len(result.records), fetch.skipped, state.last_error)
        return outcome, changes, None

    def follow_links(self, parent: SourceConfig) -> None:
        """Poll the release notes the parent's listed rows link to: known ones always, new ones up to the limit."""
        if not parent.follow_links or REGISTRY[parent.kind].role is not SourceRole.INDEX:
            return
        with session_scope(self.engine) as session:
            children = list(
                session.exec(
                    select(SourceRow)
                    .where(SourceRow.parent_id == parent.id, col(SourceRow.active).is_(True))
                    .order_by(col(SourceRow.id))
                )
            )
        known = [c for c in children if c.last_fetch_at is not None]
        new = [c for c in children if c.last_fetch_at is None][: self.config.http.follow_limit]
        for child in [*known, *new]:
            self.poll(child)


def _masked(error: FetchError, config: Config) -> FetchError:
    """The same error with the URL's secrets masked: it is stored, printed and put into events."""
    masked = FetchError(config.mask(error.url), "")
    masked.args = (config.mask(str(error)),)
    masked.permanent = error.permanent
    return masked


@dataclass(frozen=True)
class _KindFetch:
    """The further documents a multi-document kind may ask for (tracker.sources.Fetch), through the cycle's
    polite, size-capped fetcher."""

    fetcher: Fetcher

    def get(self, url: str) -> bytes:
        return self.fetcher.content(url)

    def post_json(self, url: str, body: dict[str, object]) -> bytes:
        return self.fetcher.post_json(url, body)


def _advisory_changes(
    session: Session, row: SourceRow, result: ParseResult, first_poll: bool, now: datetime
) -> list[Change]:
    """Advisories published, revised or withdrawn; those at a source's first poll are recorded silently."""
    from tracker.domain.advisories import observe_advisories
    from tracker.store.advisories import load_advisories, save_advisories

    changed, events = observe_advisories(load_advisories(session), result.advisories, row.id, row.url, first_poll, now)
    save_advisories(session, changed)
    return list(events)


def _sync_links(session: Session, parent: SourceRow, result: ParseResult, now: datetime) -> None:
    """Release notes linked from listed rows are followed; those of rows no longer listed are not."""
    linked = {_child_id(parent.id, r.build): r for r in result.records if r.notes_url}
    for child in session.exec(select(SourceRow).where(SourceRow.parent_id == parent.id)):
        record = linked.pop(child.id, None)
        child.active = record is not None
        if record is not None and record.notes_url and child.url != record.notes_url:
            child.url, child.etag, child.last_modified = record.notes_url, None, None
        session.add(child)
    for child_id, record in linked.items():
        assert record.notes_url is not None
        session.add(
            SourceRow(
                id=child_id,
                kind="release_notes",
                url=record.notes_url,
                product=parent.product,
                role=SourceRole.NOTES.value,
                parent_id=parent.id,
                configured=False,
                created_at=now,
            )
        )


def _child_id(parent_id: str, build: int) -> str:
    return f"{parent_id}:notes:{build}"


# --- inventory and exposure ------------------------------------------------------------------------------------
