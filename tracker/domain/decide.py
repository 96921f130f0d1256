"""The decide stage of a poll cycle: pure. Each source's observation (an error, an unchanged page, or what its
page listed) is applied to the in-memory catalog and advisories through the diff, and comes back as a `Decision`:
its fetch outcome, its events, and whether the page may serve as the reference for the next conditional request.
`tracker/cycle/engine.py` calls it for every source in the cycle's order, then `corroboration.settle`."""

from dataclasses import dataclass, field
from datetime import datetime

from tracker.domain.advisories import StoredAdvisory, observe_advisories
from tracker.domain.bom import VcfRelease
from tracker.domain.catalog import Catalog, Policy
from tracker.domain.diff import observe, observe_unchanged, record_failure
from tracker.domain.events import Change
from tracker.domain.observations import ParseResult
from tracker.domain.outcomes import Failed, FetchOutcome, Observation, Unchanged


@dataclass
class Knowledge:
    """What the cycle decides over: the catalog and the advisories, both changed in place, and the VCF releases read."""

    catalog: Catalog
    advisories: dict[str, StoredAdvisory] = field(default_factory=dict)
    changed_advisories: dict[str, StoredAdvisory] = field(default_factory=dict)
    changed_vcf_releases: dict[str, tuple[str, VcfRelease]] = field(default_factory=dict)  # version -> (source, it)


@dataclass(frozen=True)
class Decision:
    source_id: str
    outcome: FetchOutcome
    changes: tuple[Change, ...] = ()
    error: str | None = None

    @property
    def trusted(self) -> bool:
        """The page passed the guard: its validators are the reference for the next conditional GET."""
        return self.outcome is FetchOutcome.PARSED


def decide(known: Knowledge, source_id: str, seen: Observation, policy: Policy, now: datetime) -> Decision:
    """Apply one source's observation; the catalog's `dirty_*` marks name what to store."""
    catalog = known.catalog
    if isinstance(seen, Failed):
        changes = record_failure(catalog, source_id, seen.reason, policy, now)
        return Decision(source_id, FetchOutcome.ERROR, tuple(changes), seen.reason)
    if isinstance(seen, Unchanged):
        return Decision(source_id, FetchOutcome.NOT_MODIFIED, tuple(observe_unchanged(catalog, source_id, policy, now)))
    state = catalog.sources[source_id]
    first_poll = not state.baselined
    changes = observe(catalog, source_id, seen, policy, now)
    if state.failures:
        return Decision(source_id, FetchOutcome.ANOMALY, tuple(changes), state.last_error)
    if seen.advisories:
        changes += _advisories(known, source_id, seen, first_poll, now)
    for release in seen.vcf_releases:
        known.changed_vcf_releases[release.version] = (source_id, release)
    return Decision(source_id, FetchOutcome.PARSED, tuple(changes))


def _advisories(known: Knowledge, source_id: str, seen: ParseResult, quiet: bool, now: datetime) -> list[Change]:
    """Advisories published, revised or withdrawn; those at a source's first poll are recorded silently."""
    source = known.catalog.sources[source_id]
    changed, events = observe_advisories(known.advisories, seen.advisories, source, quiet, now)
    for stored in changed:
        known.advisories[stored.record.id] = stored
        known.changed_advisories[stored.record.id] = stored
    return list(events)
