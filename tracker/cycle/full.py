"""The full path of a poll cycle, under the poll lease: the configured sources synced, the catalog read, every page
decided in the cycle's order (each KB table, then the release notes its rows link to, new ones up to the follow
limit), the availability siblings asked on demand, the cycle settled, then recorded in one transaction with its
alerts (tracker/store/cycles.py). tracker/cycle/engine.py comes here when the store's fast path cannot record.

The pages planned were fetched and are being parsed (tracker/cycle/parse.py) before the lease is taken; they are
planned again only when another cycle was recorded since the snapshot they were planned from (the store's cycle
generation moved): then what is due and the validators may have changed, and they are fetched again under the lease.
The catalog is read as the decisions need it (tracker/store/cycles.py `CatalogReader`): a cycle where one page of
fifty changed reads the sightings of that page's builds, not the whole catalog's.
"""

import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from sqlalchemy import Engine

from tracker.config import Config
from tracker.cycle.fetch import Answer, FetchStage
from tracker.cycle.options import Hooks, policy_of
from tracker.cycle.parse import PageResult, Reader
from tracker.cycle.plan import Planned, Request, child_build, child_id, follows, plan, planned_source
from tracker.cycle.report import PollReport, SourceOutcome
from tracker.domain.catalog import BuildKey, SourceState
from tracker.domain.corroboration import settle, siblings_to_ask
from tracker.domain.decide import Decision, Knowledge, decide
from tracker.domain.events import Event
from tracker.domain.observations import ParseResult
from tracker.domain.outcomes import Failed, FetchOutcome, Unchanged
from tracker.domain.versions import Product
from tracker.sources import REGISTRY
from tracker.store import POLL_LEASE, leases
from tracker.store.advisories import load_advisories
from tracker.store.cycles import CatalogReader, CycleRecord, FetchRecord, Link, generation, record_cycle
from tracker.store.db import session_scope
from tracker.store.snapshot import Snapshot
from tracker.store.sources import snapshot, sync_sources

log = logging.getLogger(__name__)


def orm_snapshot(engine: Engine) -> Snapshot:
    """The snapshot through the ORM (any database), with the cycle generation it was read at."""
    with session_scope(engine) as session:
        read_at = generation(session)  # first: a cycle recorded meanwhile moves it, and this cycle plans again
        return replace(snapshot(session), generation=read_at)


@dataclass(frozen=True)
class Inputs:
    """What the cycle brings under the lease: the pages planned from `snapshot`, their answers, their parse."""

    stage: FetchStage
    request: Request
    snapshot: Snapshot
    pages: list[Planned]
    answers: dict[str, Answer]
    reader: Reader


def run_locked(config: Config, engine: Engine, inputs: Inputs, hooks: Hooks) -> PollReport:
    """The full path, under the poll lease."""
    lease = _Lease(engine, leases.holder_id(), config.service.lease_ttl)
    held = leases.try_acquire(engine, POLL_LEASE, lease.holder, lease.ttl)
    if held is not None:
        if hooks.on_wait is not None and hooks.wait > 0:
            hooks.on_wait(held)
        blocked = leases.acquire(engine, POLL_LEASE, lease.holder, lease.ttl, hooks.wait)
        if blocked is not None:
            return PollReport(blocked_by=blocked)
        inputs.stage.deadline.restart()  # waiting for another cycle is not this cycle's time
    try:
        inputs = _current(config, engine, inputs, held is not None, lease)
        return _Cycle.begin(config, engine, inputs, hooks, lease).run()
    finally:
        _release(engine, lease.holder)


def _current(config: Config, engine: Engine, inputs: Inputs, waited: bool, lease: "_Lease") -> Inputs:
    """The inputs as they stand under the lease. When another cycle was recorded since the snapshot (waited for,
    or finished between our fetch and the lease), what is due and the validators may have changed: plan again, and
    fetch again under the lease, so a row missing from one page is never counted twice by two cycles seconds apart."""
    if not waited:
        with session_scope(engine) as session:
            if generation(session) == inputs.snapshot.generation:
                return inputs
    stored = orm_snapshot(engine)
    fresh = plan(config, stored, inputs.request)
    if not waited and fresh == inputs.pages:
        return replace(inputs, snapshot=stored)
    inputs.reader.forget()
    return replace(inputs, snapshot=stored, pages=fresh, answers=inputs.stage.fetch(fresh, between=lease.keep))


def _release(engine: Engine, holder: str) -> None:
    """Free the lease; a failure to do so is logged, not raised over the cycle's own error (it expires anyway)."""
    try:
        leases.release(engine, POLL_LEASE, holder)
    except Exception as error:
        log.warning("could not free the poll lease (%s); it expires by itself", type(error).__name__)


@dataclass
class _Lease:
    """The poll lease this cycle holds, renewed as it works (every third of its time to live at least)."""

    engine: Engine
    holder: str
    ttl: timedelta
    _renewed: float = field(default_factory=time.monotonic)

    def keep(self) -> None:
        """Renew when a third of the time to live has passed (cheap to call between any two steps)."""
        if time.monotonic() - self._renewed >= self.ttl.total_seconds() / 3:
            self.renew()

    def renew(self) -> None:
        """Push the expiry on now; when another process took the lease meanwhile, stop (LeaseLost): it reads a
        catalog this cycle is about to change."""
        self._renewed = time.monotonic()
        if not leases.renew(self.engine, POLL_LEASE, self.holder, self.ttl):
            raise leases.LeaseLost(
                f"the poll lease ran out during this cycle (longer than {self.ttl}) and another process took it;"
                " this cycle stopped before writing anything"
            )


@dataclass
class _Cycle:
    config: Config
    engine: Engine
    inputs: Inputs
    hooks: Hooks
    lease: _Lease
    catalog: CatalogReader
    record: CycleRecord
    report: PollReport = field(default_factory=PollReport)
    answers: dict[str, Answer] = field(default_factory=dict)  # every planned page's
    ready: dict[str, PageResult] = field(default_factory=dict)  # planned pages read before their turn

    @classmethod
    def begin(cls, config: Config, engine: Engine, inputs: Inputs, hooks: Hooks, lease: _Lease) -> "_Cycle":
        """Sync the configured sources, then read what the cycle decides over."""
        now = inputs.request.now
        with session_scope(engine) as session:
            sync_sources(session, config, now)
        reader = CatalogReader.open(engine)
        with session_scope(engine) as session:
            known = Knowledge(reader.catalog, load_advisories(session))
        return cls(config, engine, inputs, hooks, lease, reader, CycleRecord(now, known))

    @property
    def now(self) -> datetime:
        return self.inputs.request.now

    @property
    def known(self) -> Knowledge:
        return self.record.known

    @property
    def snapshot(self) -> Snapshot:
        return self.inputs.snapshot

    def run(self) -> PollReport:
        pages = self.inputs.pages
        answers = dict(self.inputs.answers)
        unanswered = [p for p in pages if p.id not in answers]  # another cycle was under way as we would fetch
        if unanswered:
            answers |= self.inputs.stage.fetch(unanswered, between=self.lease.keep)
        self.answers = answers
        # Read now, with what their decisions look at in one go: every page but those parsed on the other cores,
        # each read as its turn comes (the main process decides one page while the workers parse the next).
        parsing = self.inputs.reader.pool.futures
        self.ready = {p.id: self.inputs.reader.read(p, answers[p.id]) for p in pages if p.id not in parsing}
        self.catalog.states(p.id for p in pages)
        self._read_catalog(self.ready.values())
        by_parent: dict[str, list[Planned]] = {}
        for page in pages:
            if page.parent_id is not None:
                by_parent.setdefault(page.parent_id, []).append(page)
        for page in pages:
            if page.parent_id is None:
                parsed = self._decide(self._result(page))
                self._follow(page, parsed, by_parent.get(page.id, []))
        self._corroborate()
        self.record.changes += settle(self.known.catalog, self.now)
        self._store()
        return self.report

    # --- decide -------------------------------------------------------------------------------------------------
    def _result(self, page: Planned) -> PageResult:
        """A planned page, read: at the start of the cycle, or now (a worker's parse)."""
        ready = self.ready.pop(page.id, None)
        return ready or self.inputs.reader.read(page, self.answers[page.id])

    def _read_catalog(self, results: Iterable[PageResult]) -> None:
        """What these pages' decisions look at: the sightings of each page's source when it was read, or when it
        misses a row it listed (a 304 still counts that miss), and the builds it lists or names, with every
        sighting of them; every build when a notice names a release without its build number."""
        catalog, pending = self.known.catalog, self.snapshot.pending
        sources: set[str] = set()
        keys: set[BuildKey] = set()
        for result in results:
            sid, parsed = result.page.id, result.parsed
            if isinstance(result.seen, Failed) or (isinstance(result.seen, Unchanged) and sid not in pending):
                continue  # an error, or a 304 with nothing pending, changes no sighting
            sources.add(sid)
            if parsed is None:
                continue
            named = [(r.product, r.build) for r in parsed.records]
            for notice in parsed.notices:
                for subject in (*notice.subjects, *((notice.replacement,) if notice.replacement else ())):
                    if subject.number is None:
                        self.catalog.whole()
                    else:
                        named.append((subject.product, subject.number))
            for product, build in named:
                entry = catalog.find(product, build)  # a second build number names its entry
                keys.add(entry.key if entry else (product, build))
        self.catalog.read(sources, keys)

    def _decide(self, result: PageResult) -> ParseResult | None:
        """Decide one page; its parse when trusted."""
        page = result.page
        self.catalog.states([page.id])  # a followed page's stored state is read only now
        self._read_catalog([result])
        self._ensure_state(page)
        decision = decide(self.known, page.id, result.seen, policy_of(self.config), self.now)
        self.record.changes += decision.changes
        self.record.fetches.append(_fetch_record(decision, result))
        self.report.outcomes.append(_outcome(decision, result))
        self.report.events.extend(c for c in decision.changes if isinstance(c, Event))
        self.lease.keep()
        return result.parsed if decision.trusted else None

    def _ensure_state(self, page: Planned) -> None:
        """A page the catalog has no state for yet: a release-notes page found through a KB row this cycle."""
        catalog = self.known.catalog
        if page.id in catalog.sources:
            return
        parent = catalog.sources.get(page.parent_id or "")
        catalog.sources[page.id] = SourceState(
            id=page.id,
            kind=page.kind,
            url=page.url,
            product=Product(page.product),
            role=REGISTRY[page.kind].role,
            created_at=self.now,
            parent_id=parent.id if parent else page.parent_id,
        )

    def _fetch_and_decide(self, pages: list[Planned]) -> None:
        answers = self.inputs.stage.fetch(pages, between=self.lease.keep)
        for page in pages:
            self._decide(self.inputs.reader.read(page, answers[page.id]))

    # --- follow and corroborate ---------------------------------------------------------------------------------
    def _follow(self, parent: Planned, parsed: ParseResult | None, known: list[Planned]) -> None:
        """The release notes the parent's listed rows link to: the known ones due by their tier, then new ones up
        to the follow limit."""
        source = self.config.source(parent.id)
        if not follows(source):
            return
        links: dict[str, Link] | None = None
        if parsed is not None:
            links = {
                child_id(parent.id, r.build): Link(child_id(parent.id, r.build), r.notes_url, parent.product)
                for r in parsed.records
                if r.notes_url
            }
            self.record.links[parent.id] = links
        for page in known:
            if links is not None and page.id not in links:
                continue  # its row is no longer listed: no longer followed
            if links is not None and links[page.id].url != page.url:
                page = Planned(page.id, page.kind, links[page.id].url, page.product, parent_id=parent.id)
                self.inputs.reader.discard(page.id)  # its row links elsewhere now: fetched again, whole
                self._fetch_and_decide([page])
                continue
            self._decide(self._result(page))
        limit = self.config.http.follow_limit
        if self.inputs.stage.deadline.passed or limit <= 0:
            return  # pages never fetched wait for the next cycle, rather than each failing this one
        self._fetch_and_decide(self._new_children(parent, links)[:limit])

    def _new_children(self, parent: Planned, links: dict[str, Link] | None) -> list[Planned]:
        stored = {c.id: c for c in self.snapshot.children(parent.id)}
        if links is None:  # the table was not read this cycle: the pages linked before
            candidates = {c.id: c.url for c in stored.values()}
        else:
            candidates = {cid: link.url for cid, link in links.items()}
        fresh = [cid for cid in candidates if cid not in stored or stored[cid].last_fetch_at is None]
        fresh.sort(key=child_build, reverse=True)  # newest builds first: their notes are the likeliest to change
        return [Planned(cid, "release_notes", candidates[cid], parent.product, parent_id=parent.id) for cid in fresh]

    def _corroborate(self) -> None:
        """A build gone from an availability source: the product's other availability sources speak in this cycle
        too, before it settles (a conditional GET makes that nearly free)."""
        decided = {o.source_id for o in self.report.outcomes}
        configured = {s.id: s for s in self.config.sources}
        asked = [sid for sid in siblings_to_ask(self.known.catalog, decided) if sid in configured]
        if asked:
            self._fetch_and_decide([planned_source(self.config, configured[sid], self.snapshot) for sid in asked])

    # --- record and queue ---------------------------------------------------------------------------------------
    def _store(self) -> None:
        """Record the cycle and queue its alerts, in one transaction: no event is stored without its alerts. The
        alerts read the whole catalog when they need it (the cycle read only a part)."""
        self.lease.renew()
        with session_scope(self.engine) as session:
            created = record_cycle(session, self.record)
            self.report.event_ids = [row.id for row in created if row.id is not None]
            if created:
                from tracker.notify.pipeline import queue_alerts  # lazy: notify loads only for a cycle with events

                self.report.queued = queue_alerts(self.config, session, created, self.now)


def _outcome(decision: Decision, result: PageResult) -> SourceOutcome:
    seen = result.parsed
    if seen is not None and decision.outcome in (FetchOutcome.PARSED, FetchOutcome.ANOMALY):
        return SourceOutcome(
            decision.source_id, decision.outcome, len(seen.records), list(_skipped(seen)), decision.error
        )
    return SourceOutcome(decision.source_id, decision.outcome, error=decision.error)


def _skipped(seen: ParseResult) -> tuple[dict[str, str], ...]:
    return tuple({"where": s.where, "text": s.text[:200], "reason": s.reason} for s in seen.skipped)


def _fetch_record(decision: Decision, result: PageResult) -> FetchRecord:
    outcome, sid, fetched = decision.outcome, decision.source_id, result.fetched
    if outcome is FetchOutcome.ERROR:
        return FetchRecord(sid, outcome, error=decision.error)
    seen = result.parsed
    if seen is None:  # 304
        return FetchRecord(sid, outcome, http_status=304, elapsed_ms=fetched.elapsed_ms)
    validators = fetched.validators
    reference = (validators.etag, validators.last_modified) if decision.trusted and validators else None
    return FetchRecord(
        sid,
        outcome,
        http_status=fetched.status,
        elapsed_ms=fetched.elapsed_ms,
        bytes=fetched.bytes,
        rows=len(seen.records),
        error=decision.error,
        skipped=_skipped(seen),
        reference=reference,
        forget=not decision.trusted,
    )
