"""The poll cycle: the one engine behind `tracker poll`, `tracker run` (each tick), the demo and the tests.

    plan (which pages, which validators)  -> fetch (a few at once)  -> parse (inline, or worker processes)
      -> decide (pure: diff, then corroboration.settle, over the in-memory catalog)
      -> record (one transaction, with the alerts queued for the new events)

A cycle where every planned page answers 304 is recorded by the store's fast path without importing SQLAlchemy
(tracker/store/fastpath.py). One cycle runs at a time across processes: the `poll` lease (tracker/store/leases.py),
renewed while the cycle works. When an availability source stops offering a build, the product's other
availability sources are fetched in the same cycle before it settles (corroboration on demand).
"""

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from tracker.config import Config, user_agent
from tracker.cycle import parse as parse_stage
from tracker.cycle.fetch import Answer, Collected, FetchStage
from tracker.cycle.parse import Preparsed
from tracker.cycle.plan import Planned, Request, child_id, follows, plan, planned_source, quiet_possible
from tracker.cycle.report import PollReport, SourceOutcome, unchanged_report
from tracker.domain.catalog import Policy, SourceState
from tracker.domain.corroboration import settle, siblings_to_ask
from tracker.domain.decide import Decision, Failed, FetchOutcome, Knowledge, Observation, Unchanged, decide
from tracker.domain.events import Event
from tracker.domain.observations import ParseResult
from tracker.domain.versions import Product
from tracker.http import Document, Fetcher, FetchError, HttpSettings, NotModified, build_client
from tracker.sources import REGISTRY
from tracker.store import POLL_LEASE, fastpath
from tracker.store.snapshot import Snapshot

if TYPE_CHECKING:  # SQLAlchemy and the store's ORM modules load only when the fast path cannot record
    from sqlalchemy import Engine

    from tracker.store import leases
    from tracker.store.cycles import CycleRecord, FetchRecord, Link

log = logging.getLogger(__name__)

Progress = Callable[[str], None]


@dataclass(frozen=True)
class Hooks:
    """What a caller hears while the cycle runs: each page as it is decided, and a wait for another cycle."""

    progress: Progress | None = None
    on_wait: "Callable[[leases.Held], None] | None" = None
    wait: float = 0.0  # seconds to wait for another process's cycle; then give up (`blocked_by`)


def policy_of(config: Config) -> Policy:
    p = config.policy
    return Policy(p.pull_confirmations, p.max_drop_ratio, p.failing_after, p.cooldown_days)


def http_settings(config: Config) -> HttpSettings:
    http = config.http
    return HttpSettings(user_agent(config), http.timeout, http.max_bytes, http.politeness_delay)


def run_cycle(config: Config, open_db: "Callable[[], Engine]", request: Request, hooks: Hooks = Hooks()) -> PollReport:
    """One cycle. `open_db` gives the database, migrated; it is called only when the fast path cannot record."""
    path = fastpath.sqlite_path(config.database)
    snapshot = _fast_snapshot(path)
    engine = None
    if snapshot is None:
        engine = open_db()
        snapshot = _orm_snapshot(engine)
    pages = plan(config, snapshot, request)
    if not pages:
        return PollReport()
    with build_client(http_settings(config)) as client:
        stage = FetchStage(Fetcher(client, http_settings(config)), parallel=config.http.politeness_delay <= 0)
        another = path is not None and path.is_file() and fastpath.lease_held(path)
        answers = {} if another else stage.fetch(pages)  # another cycle runs: fetch after it, not before
        if not another and _recorded_unchanged(config, path, snapshot, pages, answers, request.now):
            return unchanged_report([p.id for p in pages])
        pool = parse_stage.start(
            pages, answers
        )  # many changed pages: parsed on the other cores while the database opens
        try:
            engine = engine or open_db()
            return _locked_cycle(config, engine, _Inputs(stage, request, pages, answers, pool), hooks)
        finally:
            pool.close()


def _fast_snapshot(path: Path | None) -> Snapshot | None:
    """The snapshot of a SQLite file read without the ORM; None when the ORM must read it (another database, or a
    file at an older schema, which the ORM migrates)."""
    if path is None:
        return None
    if not path.is_file():
        return Snapshot()  # a first poll: nothing stored yet; the pages are fetched before the database is made
    return fastpath.snapshot(path)


def _orm_snapshot(engine: "Engine") -> Snapshot:
    from tracker.store.db import session_scope
    from tracker.store.sources import snapshot

    with session_scope(engine) as session:
        return snapshot(session)


def _recorded_unchanged(
    config: Config,
    path: Path | None,
    snapshot: Snapshot,
    pages: list[Planned],
    answers: dict[str, Answer],
    now: datetime,
) -> bool:
    """Every page answered 304 and the store's fast path could record that."""
    if path is None or not path.is_file() or not all(isinstance(a, NotModified) for a in answers.values()):
        return False
    if not quiet_possible(config, snapshot, pages):
        return False
    elapsed = {sid: a.elapsed_ms for sid, a in answers.items() if isinstance(a, NotModified)}
    return fastpath.record_unchanged(path, elapsed, now)


@dataclass
class _Inputs:
    stage: FetchStage
    request: Request
    pages: list[Planned]
    answers: dict[str, Answer]
    pool: Preparsed


def _locked_cycle(config: Config, engine: "Engine", inputs: _Inputs, hooks: Hooks) -> PollReport:
    """The full path, under the poll lease."""
    from tracker.store import leases

    holder = leases.holder_id()
    held = leases.try_acquire(engine, POLL_LEASE, holder, config.service.lease_ttl)
    if held is not None:
        if hooks.on_wait is not None and hooks.wait > 0:
            hooks.on_wait(held)
        blocked = leases.acquire(engine, POLL_LEASE, holder, config.service.lease_ttl, hooks.wait)
        if blocked is not None:
            return PollReport(blocked_by=blocked)
        inputs.pool.close()  # fetched before the other cycle ended: plan and fetch again
        inputs.pages = plan(config, _orm_snapshot(engine), inputs.request)
        inputs.answers, inputs.pool = inputs.stage.fetch(inputs.pages), Preparsed()
    try:
        return _Cycle.begin(config, engine, inputs, hooks, holder).run()
    finally:
        _release(engine, holder)


def _release(engine: "Engine", holder: str) -> None:
    """Free the lease; a failure to do so is logged, not raised over the cycle's own error (it expires anyway)."""
    from tracker.store import leases

    try:
        leases.release(engine, POLL_LEASE, holder)
    except Exception as error:
        log.warning("could not free the poll lease (%s); it expires by itself", type(error).__name__)


@dataclass
class _Cycle:
    config: Config
    engine: "Engine"
    inputs: _Inputs
    hooks: Hooks
    holder: str
    known: Knowledge
    snapshot: Snapshot
    report: PollReport = field(default_factory=PollReport)
    _record: "CycleRecord | None" = None  # set by `begin`
    _renewed: float = field(default_factory=time.monotonic)

    @classmethod
    def begin(cls, config: Config, engine: "Engine", inputs: _Inputs, hooks: Hooks, holder: str) -> "_Cycle":
        """Sync the configured sources, then load what the cycle decides over."""
        from tracker.store.advisories import load_advisories
        from tracker.store.cycles import CycleRecord
        from tracker.store.db import session_scope
        from tracker.store.repo import load_catalog
        from tracker.store.sources import snapshot, sync_sources

        now = inputs.request.now
        with session_scope(engine) as session:
            sync_sources(session, config, now)
        with session_scope(engine) as session:
            known = Knowledge(load_catalog(session), load_advisories(session))
            stored = snapshot(session)
        cycle = cls(config, engine, inputs, hooks, holder, known, stored)
        cycle._record = CycleRecord(now, known)
        return cycle

    @property
    def now(self) -> datetime:
        return self.inputs.request.now

    @property
    def record(self) -> "CycleRecord":
        assert self._record is not None
        return self._record

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
        if self.hooks.progress:
            self.hooks.progress(page.id)
        if answer is None:
            answer = self.inputs.stage.one(page)
        self._ensure_state(page)
        seen = self._observe(page, answer)
        decision = decide(self.known, page.id, seen, policy_of(self.config), self.now)
        self.record.changes += decision.changes
        self.record.fetches.append(_fetch_record(decision, answer, seen))
        self.report.outcomes.append(_outcome(decision, seen))
        self.report.events.extend(c for c in decision.changes if isinstance(c, Event))
        self._renew_lease()
        return seen if decision.trusted and isinstance(seen, ParseResult) else None

    def _observe(self, page: Planned, answer: Answer) -> Observation:
        if isinstance(answer, FetchError):
            return Failed(self.config.mask(str(answer)))
        if isinstance(answer, NotModified):
            return Unchanged()
        if isinstance(answer, Collected):
            return answer.result
        parsed = self.inputs.pool.take(page.id)
        kind = REGISTRY[page.kind]
        return parsed or kind.parse(answer.content, url=answer.url, product=Product(page.product))

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
        from tracker.store.cycles import Link

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
        new = self._new_children(parent, links)[: self.config.http.follow_limit]
        answers = self.inputs.stage.fetch(new)
        for page in new:
            self._decide(page, answers[page.id])

    def _new_children(self, parent: Planned, links: "dict[str, Link] | None") -> list[Planned]:
        stored = {c.id: c for c in self.snapshot.children(parent.id)}
        if links is None:  # the table was not read this cycle: the pages linked before
            candidates = {c.id: c.url for c in stored.values()}
        else:
            candidates = {cid: link.url for cid, link in links.items()}
        fresh = sorted(cid for cid in candidates if cid not in stored or stored[cid].last_fetch_at is None)
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
        answers = self.inputs.stage.fetch(pages)
        for page in pages:
            self._decide(page, answers[page.id])

    # --- record -------------------------------------------------------------------------------------------------
    def _renew_lease(self, force: bool = False) -> None:
        """Keep the poll lease while the cycle works (every third of its time to live at least); when another
        process took it meanwhile, stop: it reads a catalog this cycle is about to change."""
        from tracker.store import leases

        ttl = self.config.service.lease_ttl
        if not force and time.monotonic() - self._renewed < ttl.total_seconds() / 3:
            return
        self._renewed = time.monotonic()
        if not leases.renew(self.engine, POLL_LEASE, self.holder, ttl):
            raise leases.LeaseLost(
                f"the poll lease ran out during this cycle (longer than {ttl}) and another process took it;"
                " this cycle stopped before writing anything"
            )

    def _store(self) -> None:
        """Record the cycle and queue its alerts, in one transaction: no event is stored without its alerts."""
        from tracker.notify.pipeline import queue_alerts
        from tracker.store.cycles import record_cycle
        from tracker.store.db import session_scope

        self._renew_lease(force=True)
        with session_scope(self.engine) as session:
            created = record_cycle(session, self.record)
            self.report.event_ids = [row.id for row in created if row.id is not None]
            self.report.queued = queue_alerts(self.config, session, created, self.now) if created else 0


def _outcome(decision: Decision, seen: Observation) -> SourceOutcome:
    rows = len(seen.records) if isinstance(seen, ParseResult) else 0
    skipped = _skipped(seen)
    if decision.outcome in (FetchOutcome.PARSED, FetchOutcome.ANOMALY):
        return SourceOutcome(decision.source_id, decision.outcome.value, rows, list(skipped), decision.error)
    return SourceOutcome(decision.source_id, decision.outcome.value, error=decision.error)


def _skipped(seen: Observation) -> tuple[dict[str, str], ...]:
    if not isinstance(seen, ParseResult):
        return ()
    return tuple({"where": s.where, "text": s.text[:200], "reason": s.reason} for s in seen.skipped)


def _fetch_record(decision: Decision, answer: Answer, seen: Observation) -> "FetchRecord":
    from tracker.store.cycles import FetchRecord

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
