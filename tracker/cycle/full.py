"""The full path of a poll cycle, under the poll lease: the configured sources synced, the catalog loaded, every
page decided in the cycle's order (each KB table, then the release notes its rows link to, new ones up to the follow
limit), the availability siblings asked on demand, the cycle settled, then recorded in one transaction with its
alerts (tracker/store/cycles.py). tracker/cycle/engine.py comes here when the store's fast path cannot record."""

import logging
import time
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from sqlalchemy import Engine

from tracker.config import Config
from tracker.cycle.engine import Hooks, policy_of
from tracker.cycle.fetch import Answer, Collected, FetchStage
from tracker.cycle.parse import Preparsed
from tracker.cycle.plan import Planned, Request, child_build, child_id, follows, plan, planned_source
from tracker.cycle.report import PollReport, SourceOutcome
from tracker.domain.catalog import SourceState
from tracker.domain.corroboration import settle, siblings_to_ask
from tracker.domain.decide import Decision, Failed, FetchOutcome, Knowledge, Observation, Unchanged, decide
from tracker.domain.events import Event
from tracker.domain.observations import ParseResult
from tracker.domain.versions import Product
from tracker.http import Document, FetchError, NotModified, without_credentials
from tracker.notify.pipeline import queue_alerts
from tracker.sources import REGISTRY
from tracker.store import POLL_LEASE, leases
from tracker.store.advisories import load_advisories
from tracker.store.cycles import CycleRecord, FetchRecord, Link, record_cycle
from tracker.store.db import session_scope
from tracker.store.repo import load_catalog
from tracker.store.snapshot import Snapshot
from tracker.store.sources import snapshot, sync_sources

log = logging.getLogger(__name__)


def orm_snapshot(engine: Engine) -> Snapshot:
    with session_scope(engine) as session:
        return snapshot(session)


@dataclass
class Inputs:
    stage: FetchStage
    request: Request
    pages: list[Planned]
    answers: dict[str, Answer]
    pool: Preparsed


def run_locked(config: Config, engine: Engine, inputs: "Inputs", hooks: Hooks) -> PollReport:
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
        fresh = plan(config, orm_snapshot(engine), inputs.request)
        if held is not None or fresh != inputs.pages:
            # Another cycle ran since these pages were planned (waited for, or finished between our fetch and the
            # lease): what is due and the validators changed. Fetch again under the lease, so a row missing from
            # one page is never counted twice by two cycles seconds apart.
            inputs.pool.close()
            inputs.pages = fresh
            inputs.answers, inputs.pool = inputs.stage.fetch(fresh, between=lease.keep), Preparsed()
        return _Cycle.begin(config, engine, inputs, hooks, lease).run()
    finally:
        _release(engine, lease.holder)


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
    snapshot: Snapshot
    record: CycleRecord
    report: PollReport = field(default_factory=PollReport)

    @classmethod
    def begin(cls, config: Config, engine: Engine, inputs: Inputs, hooks: Hooks, lease: _Lease) -> "_Cycle":
        """Sync the configured sources, then load what the cycle decides over."""
        now = inputs.request.now
        with session_scope(engine) as session:
            sync_sources(session, config, now)
        with session_scope(engine) as session:
            known = Knowledge(load_catalog(session), load_advisories(session))
            stored = snapshot(session)
        return cls(config, engine, inputs, hooks, lease, stored, CycleRecord(now, known))

    @property
    def now(self) -> datetime:
        return self.inputs.request.now

    @property
    def known(self) -> Knowledge:
        return self.record.known

    def run(self) -> PollReport:
        pages = self.inputs.pages
        by_parent: dict[str, list[Planned]] = {}
        for page in pages:
            if page.parent_id is not None:
                by_parent.setdefault(page.parent_id, []).append(page)
        for page in pages:
            if page.parent_id is None:
                result = self._decide(page, self.inputs.answers.get(page.id))
                self._follow(page, result, by_parent.get(page.id, []))
        self._corroborate()
        self.record.changes += settle(self.known.catalog, self.now)
        self._store()
        return self.report

    # --- decide -------------------------------------------------------------------------------------------------
    def _decide(self, page: Planned, answer: Answer | None) -> ParseResult | None:
        """Decide one page (fetching it now when it was not fetched with the plan); its parse when trusted."""
        if answer is None:
            answer = self.inputs.stage.one(page)
        self._ensure_state(page)
        seen = self._observe(page, answer)
        decision = decide(self.known, page.id, seen, policy_of(self.config), self.now)
        self.record.changes += decision.changes
        self.record.fetches.append(_fetch_record(decision, answer, seen))
        self.report.outcomes.append(_outcome(decision, seen))
        self.report.events.extend(c for c in decision.changes if isinstance(c, Event))
        self.lease.keep()
        return seen if decision.trusted and isinstance(seen, ParseResult) else None

    def _observe(self, page: Planned, answer: Answer) -> Observation:
        if isinstance(answer, FetchError):
            return Failed(self.config.mask(str(answer)))
        if isinstance(answer, NotModified):
            return Unchanged()
        document, result = (answer.root, answer.result) if isinstance(answer, Collected) else (answer, None)
        if result is None:
            parsed = self.inputs.pool.take(page.id)
            kind = REGISTRY[page.kind]
            result = parsed or kind.parse(document.content, url=document.url, product=Product(page.product))
        if document.redirected:  # evidence names where the page was read, without credentials or secrets
            result = replace(result, url=self.config.mask(without_credentials(document.url)))
        return result

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
                self.inputs.pool.discard(page.id)  # its row links elsewhere now: fetched again, whole
                self._decide(page, None)
                continue
            self._decide(page, self.inputs.answers.get(page.id))
        if self.inputs.stage.deadline.passed:
            return  # pages never fetched wait for the next cycle, rather than each failing this one
        new = self._new_children(parent, links)[: self.config.http.follow_limit]
        answers = self.inputs.stage.fetch(new, between=self.lease.keep)
        for page in new:
            self._decide(page, answers[page.id])

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
        if not asked:
            return
        pages = [planned_source(self.config, configured[sid], self.snapshot) for sid in asked]
        answers = self.inputs.stage.fetch(pages, between=self.lease.keep)
        for page in pages:
            self._decide(page, answers[page.id])

    # --- record -------------------------------------------------------------------------------------------------
    def _store(self) -> None:
        """Record the cycle and queue its alerts, in one transaction: no event is stored without its alerts."""
        self.lease.renew()
        with session_scope(self.engine) as session:
            created = record_cycle(session, self.record)
            self.report.event_ids = [row.id for row in created if row.id is not None]
            self.report.queued = queue_alerts(self.config, session, created, self.now, self.known) if created else 0


def _outcome(decision: Decision, seen: Observation) -> SourceOutcome:
    rows = len(seen.records) if isinstance(seen, ParseResult) else 0
    skipped = _skipped(seen)
    if decision.outcome in (FetchOutcome.PARSED, FetchOutcome.ANOMALY):
        return SourceOutcome(decision.source_id, decision.outcome, rows, list(skipped), decision.error)
    return SourceOutcome(decision.source_id, decision.outcome, error=decision.error)


def _skipped(seen: Observation) -> tuple[dict[str, str], ...]:
    if not isinstance(seen, ParseResult):
        return ()
    return tuple({"where": s.where, "text": s.text[:200], "reason": s.reason} for s in seen.skipped)


def _fetch_record(decision: Decision, answer: Answer, seen: Observation) -> FetchRecord:
    outcome, sid = decision.outcome, decision.source_id
    if outcome is FetchOutcome.ERROR:
        return FetchRecord(sid, outcome, error=decision.error)
    if isinstance(answer, NotModified):
        return FetchRecord(sid, outcome, http_status=304, elapsed_ms=answer.elapsed_ms)
    doc = answer.root if isinstance(answer, Collected) else answer
    assert isinstance(doc, Document) and isinstance(seen, ParseResult)
    reference = (doc.validators.etag, doc.validators.last_modified) if decision.trusted else None
    return FetchRecord(
        sid,
        outcome,
        http_status=doc.status,
        elapsed_ms=doc.elapsed_ms,
        bytes=len(doc.content),
        rows=len(seen.records),
        error=decision.error,
        skipped=_skipped(seen),
        reference=reference,
        forget=not decision.trusted,
    )
