"""Corroboration between availability sources (download listings, the depot): what a build gone from one of them
means, decided once every source of the cycle has spoken (PRODUCT.md section 4).

The poll cycle fetches a product's other availability sources on demand when one of them stops offering a build
(tracker/cycle/engine.py), so the siblings have spoken in the same cycle:
- a sibling fetched in this cycle still offers the build: a `discrepancy` naming both sides, and no pull;
- no sibling that spoke offers it: pulled, with high confidence when two or more sources no longer offer it,
  medium from one. A sibling that could not be fetched this cycle says nothing either way.
"""

from datetime import datetime

from tracker.domain.catalog import BuildKey, BuildStatus, Catalog, Entry, Sighting
from tracker.domain.events import Change, Confidence, Event, EventKind, Evidence
from tracker.domain.roles import SourceRole


def settle(catalog: Catalog, now: datetime) -> list[Change]:
    """Decide the builds the cycle saw vanish from availability sources (`catalog.vanished`)."""
    gathered: dict[BuildKey, list[Evidence]] = {}
    for key, said in catalog.vanished:
        gathered.setdefault(key, []).append(said)
    catalog.vanished.clear()
    changes: list[Change] = []
    for key, evidence in gathered.items():
        entry = catalog.entries.get(key)
        if entry is not None and entry.status is BuildStatus.AVAILABLE:
            changes.append(_settle_one(catalog, entry, tuple(evidence), now))
    return changes


def siblings_to_ask(catalog: Catalog, spoke: set[str]) -> list[str]:
    """Availability sources of the products whose builds vanished this cycle that have not spoken in it yet."""
    products = {key[0] for key, _ in catalog.vanished}
    return sorted(
        s.id
        for s in catalog.sources.values()
        if s.role is SourceRole.AVAILABILITY and s.product in products and s.id not in spoke
    )


def offering(catalog: Catalog, entry: Entry) -> list[Sighting]:
    """The sightings of a build by availability sources (present or not): the sources that cover it."""
    sources = catalog.sources
    return [
        s
        for s in catalog.sightings_for(entry.key)
        if s.source_id in sources and sources[s.source_id].role is SourceRole.AVAILABILITY
    ]


def _settle_one(catalog: Catalog, entry: Entry, evidence: tuple[Evidence, ...], now: datetime) -> Change:
    spoke = {s.id for s in catalog.sources.values() if s.last_success_at == now}
    sightings = offering(catalog, entry)
    still = sorted(s.source_id for s in sightings if s.present and s.source_id in spoke)
    gone = sorted(s.source_id for s in sightings if s.gone or (not s.present and s.source_id in spoke))
    name = f"{entry.release_name} ({entry.build})"
    if still:
        verb = "offers" if len(still) == 1 else "offer"
        detail = f"{name} is no longer offered by {', '.join(gone)}, while {', '.join(still)} still {verb} it"
        return Event(
            EventKind.DISCREPANCY,
            now,
            Confidence.MEDIUM,
            evidence,
            entry.product,
            entry.build,
            entry.release_name,
            detail=detail,
        )
    confidence = Confidence.HIGH if len(gone) >= 2 else Confidence.MEDIUM
    entry.status, entry.pull_confidence = BuildStatus.PULLED, confidence
    catalog.mark(entry=entry)
    detail = f"{name} was pulled: no longer offered by {', '.join(gone)}"
    return Event(
        EventKind.PULLED, now, confidence, evidence, entry.product, entry.build, entry.release_name, detail=detail
    )
