"""What the CLI's `--json` and the web's `/api/v1` list: each record (tracker/store/records.py, or a domain value)
as a dict with the same stable keys. The CLI's views print these dicts as tables; the web serves them as JSON and
renders its pages from them, so a key never differs between the two. Nothing here reads the database: the store's
reads and the use cases (tracker/jobs/, e.g. sources.py's listing) hand the records in.

Times are ISO-8601 in UTC with a `Z`. Channel targets appear in apprise's privacy form only (the outbox stores
them so)."""

import json
from collections.abc import Sequence
from datetime import datetime
from functools import lru_cache
from json.encoder import encode_basestring_ascii
from pathlib import PurePath
from typing import TYPE_CHECKING, Any

from tracker.domain.catalog import Catalog
from tracker.domain.clock import machine
from tracker.domain.exposure import Exposure
from tracker.domain.inventory import Asset, ImportPlan, ImportResult
from tracker.domain.version_grammar import parse_release
from tracker.domain.versions import Release, VersionError
from tracker.store import OutboxStatus

if TYPE_CHECKING:  # records are only read here
    from tracker.cycle.plan import Schedule
    from tracker.domain.alerts import Watchlist
    from tracker.domain.health import SourceVerdict, Verdict
    from tracker.jobs.sources import SourceListing
    from tracker.store.records import (
        BuildRecord,
        DeliveryAttempt,
        EventRecord,
        EvidenceRecord,
        OutboxMessage,
        SnoozeRecord,
        SourceStatus,
    )


def iso(value: datetime | None) -> str | None:
    """A time for scripts: ISO 8601 in UTC with a `Z` (tracker/domain/clock.py's machine(), the one formatter)."""
    return machine(value)


# --- events ----------------------------------------------------------------------------------------------------
def event_item(row: "EventRecord", evidence: Sequence["EvidenceRecord"], replaced_by: int | None) -> dict[str, Any]:
    return {
        "id": row.id,
        "kind": row.kind.value,
        "product": row.product.value if row.product else None,
        "build": row.build,
        "release": row.release,
        "observed_at": iso(row.observed_at),
        "confidence": row.confidence.value,
        "evidence": [
            {"source": e.source_id, "url": e.url, "excerpt": e.excerpt, "observed_at": iso(e.observed_at)}
            for e in distinct_evidence(evidence)
        ],
        "replaced_by": replaced_by,
        "replaces": list(row.replaces),
        "source": row.source_id,
        "detail": row.detail,
    }


def distinct_evidence(evidence: Sequence["EvidenceRecord"]) -> list["EvidenceRecord"]:
    """An event's evidence as people read it: first observed first, each source's excerpt once (a source that says
    the same again later, as a blog post read again at a later poll, adds nothing; its first reading is kept)."""
    seen: set[tuple[str, str]] = set()
    kept = []
    for e in sorted(evidence, key=lambda e: e.observed_at):
        key = (e.source_id, " ".join(e.excerpt.split()))
        if key not in seen:
            seen.add(key)
            kept.append(e)
    return kept


# --- builds ----------------------------------------------------------------------------------------------------
def build_order(row: "BuildRecord") -> tuple[Any, ...]:
    """Newest last: product, then the release's own order, then the build number."""
    try:
        return (row.product.value, parse_release(row.release_name, row.product).sort_key, row.build)
    except (VersionError, ValueError):
        return (row.product.value, (0,), row.build)


def listed_by(catalog: Catalog) -> dict[tuple[str, int], list[str]]:
    """The sources listing each build now."""
    listing: dict[tuple[str, int], list[str]] = {}
    for sighting in catalog.all_sightings():
        if sighting.present:
            listing.setdefault((sighting.product.value, sighting.build), []).append(sighting.source_id)
    return listing


def build_items(rows: Sequence["BuildRecord"], listing: dict[tuple[str, int], list[str]]) -> list[dict[str, Any]]:
    """The builds newest first, each with the sources listing it (`listed_by`)."""
    return [build_item(r, listing) for r in sorted(rows, key=build_order, reverse=True)]


def build_item(r: "BuildRecord", listing: dict[tuple[str, int], list[str]]) -> dict[str, Any]:
    return {
        "product": r.product.value,
        "build": r.build,
        "release": r.release_name,
        "line": r.line,
        "release_date": r.release_date,
        "status": r.status.value,
        "confidence": r.pull_confidence.value if r.pull_confidence else None,
        "replaced_by": r.replaced_by,
        "alt_builds": list(r.alt_builds),
        "notes_url": r.notes_url,
        "listed_by": sorted(listing.get((r.product.value, r.build), [])),
        "first_seen": iso(r.first_seen),
    }


# --- sources ---------------------------------------------------------------------------------------------------
def source_items(listing: "SourceListing", show_all: bool) -> list[dict[str, Any]]:
    """Configured sources first (those not polled yet at the top), then those removed from the config, then, with
    `show_all`, the followed pages. Each says its state as the health verdict gives it (`health`), never judged
    here: `never polled`, `ok`, `warning`, `anomaly`, `failing` or `removed`."""
    rows, planned, verdict = listing.rows, listing.planned, listing.verdict
    shown = [r for r in rows if r.configured or show_all]
    data = [_source_item(r, planned.get(r.id), verdict.of(r.id)) for r in shown]
    data += [
        _unsynced_item(sid, kind, product, planned.get(sid), verdict.of(sid)) for sid, kind, product in listing.unsynced
    ]
    return sorted(data, key=_listed_order)


def _listed_order(item: dict[str, Any]) -> tuple[bool, bool, bool, str]:
    return (not item["configured"], item["health"] == "removed", item["health"] != "never polled", item["id"])


def _judged(judged: "SourceVerdict | None") -> dict[str, Any]:
    """The health verdict's word on one source (a source the verdict does not name is one just configured)."""
    return {
        "health": judged.state.value if judged else "never polled",
        "problem": judged.problem if judged else False,
        "reasons": list(judged.reasons) if judged else [],
        "warnings": list(judged.warnings) if judged else [],
    }


def _source_item(r: "SourceStatus", schedule: "Schedule | None", judged: "SourceVerdict | None") -> dict[str, Any]:
    health = _judged(judged)
    active = r.active and health["health"] != "removed"  # removed from the config: the next poll retires it
    return {
        "id": r.id,
        "kind": r.kind,
        "product": r.product.value,
        "url": r.url,
        "configured": r.configured,
        "active": active,
        **health,
        "failures": r.failures,
        "last_success": iso(r.last_success_at),
        "last_error": r.last_error,
        "last_error_at": iso(r.last_error_at),
        "rows_seen": r.rows_seen,
        "tier": schedule.tier.value if schedule and schedule.tier else None,
        "next_poll": iso(schedule.next_poll) if schedule and schedule.next_poll and active else None,
    }


def _unsynced_item(
    source_id: str, kind: str, product: str, schedule: "Schedule | None", judged: "SourceVerdict | None"
) -> dict[str, Any]:
    empty = dict.fromkeys(("url", "last_success", "last_error", "last_error_at", "tier"))
    next_poll = iso(schedule.next_poll) if schedule and schedule.next_poll else None
    return {
        **empty,
        "id": source_id,
        "kind": kind,
        "product": product,
        "configured": True,
        "active": True,
        **_judged(judged),
        "failures": 0,
        "rows_seen": 0,
        "next_poll": next_poll,
    }


# --- the tracker's health --------------------------------------------------------------------------------------
def health_item(verdict: "Verdict") -> dict[str, Any]:
    """The health verdict as `tracker health --json`, `/api/v1/health` and `/readyz` give it: the tracker's status
    (`healthy`, `degraded`), its warnings and problems, and each configured or removed source's state."""
    return {
        "status": verdict.status.value,
        "states": {state.value: n for state, n in verdict.states().items()},  # sources by state
        "warnings": list(verdict.warnings),
        "problems": [
            {"subject": p.subject, "reason": p.reason, "since": iso(p.since), "source": p.source}
            for p in verdict.problems
        ],
        "sources": [
            {
                "id": s.id,
                "state": s.state.value,
                "problem": s.problem,
                "reasons": list(s.reasons),
                "last_success": iso(s.facts.last_success_at),
                "last_error": s.facts.last_error,
                "last_error_at": iso(s.facts.last_error_at),
            }
            for s in verdict.sources
        ],
    }


# --- inventory and exposure ------------------------------------------------------------------------------------
def asset_item(asset: Asset) -> dict[str, Any]:
    return {
        "name": asset.name,
        "kind": asset.kind.value,
        "build": asset.build,
        "version_text": asset.version_text,
        "vcenter": asset.vcenter,
        "datacenter": asset.datacenter,
        "cluster": asset.cluster,
        "tags": list(asset.tags),
        "owner": asset.owner,
        "vibs": [{"name": v.name, "version": v.version} for v in asset.vibs],
        "origin": origin_name(asset.origin),
    }


def origin_name(origin: str) -> str:
    """Where an asset came from, as people may see it: `inventory.csv`, `vcenter:vc01`; never the server's path to
    a file (an upload is read from a temporary file, a configured inventory from the server's disk)."""
    return origin if origin.startswith("vcenter:") else PurePath(origin.replace("\\", "/")).name


def import_item(source: str, result: ImportResult, plan: ImportPlan, dry_run: bool) -> dict[str, Any]:
    """What an inventory import read and changed (or would change, on a dry run)."""
    return {
        "source": source,
        "dry_run": dry_run,
        "read": len(result.assets),
        "added": [a.name for a in plan.added],
        "updated": [after.name for _, after in plan.updated],
        "unchanged": len(plan.unchanged),
        "removed": [a.name for a in plan.removed],
        "warnings": list(result.warnings),
    }


def exposure_item(item: Exposure) -> dict[str, Any]:
    return {
        "asset": item.asset.name,
        "kind": item.asset.kind.value,
        "build": item.asset.build,
        "release": _release_name(item.release),
        "vcenter": item.asset.vcenter,
        "cluster": item.asset.cluster,
        "statuses": [s.value for s in item.statuses],
        "severity": item.severity.value,
        "recommended_build": item.recommended_build,
        "recommended_release": item.recommended_release,
        "recommended_notes_url": item.recommended.notes_url if item.recommended else None,
        "hold": item.hold,
        "caveats": list(item.caveats),
        "advice": item.advice,
        "advisories": list(item.advisories),
        "reasons": list(item.reasons),
    }


@lru_cache(maxsize=1024)
def _release_name(release: Release | None) -> str | None:
    return release.name if release else None  # computed per release, not per asset: 100,000 rows list fast


class ExposureRows:
    """`exposure_item` as compact JSON text, fast enough for 100,000 rows: what depends only on the build's findings
    (release, statuses, reasons, target, hold...) is encoded once per distinct value and shared by every row that
    carries it; only the asset's own fields are encoded per row. The text is exactly
    `json.dumps(exposure_item(e), separators=(",", ":"))` (a test compares them); nothing is kept per row."""

    _HEAD = ("asset", "kind", "build", "release", "vcenter", "cluster")

    def __init__(self) -> None:
        self._tails: dict[tuple[object, ...], str] = {}
        self._releases: dict[Release | None, str] = {}

    def encode(self, e: Exposure) -> str:
        return self.join(e.asset, *self.parts(e))

    def parts(self, e: Exposure) -> tuple[str, str]:
        """The row's shared parts, encoded: its release, and its findings from `statuses` on (a stored listing
        keeps them once each: tracker/web/exposure_store.py)."""
        release = self._releases.get(e.release)
        if release is None:
            release = self._releases[e.release] = json.dumps(_release_name(e.release))
        return release, self._tail(e)

    @staticmethod
    def join(asset: Asset, release: str, tail: str) -> str:
        """A row's JSON text from the asset's own fields and its shared parts."""
        return ExposureRows.head(asset, release) + tail

    @staticmethod
    def head(asset: Asset, release: str) -> str:
        """The row's JSON text up to its shared findings (`head + tail` is the row: a listing joins the pieces
        once, without making each row's text first)."""
        text, build = encode_basestring_ascii, "null" if asset.build is None else str(asset.build)
        return (
            f'{{"asset":{text(asset.name)},"kind":"{asset.kind.value}","build":{build},"release":{release},'
            f'"vcenter":{text(asset.vcenter)},"cluster":{text(asset.cluster)},'
        )

    def _tail(self, e: Exposure) -> str:
        target = e.recommended
        key: tuple[object, ...] = (e.statuses, e.severity, e.hold, e.caveats, e.advisories, e.reasons)
        if target is not None:
            key += (target.build, target.release_name, target.notes_url)
        found = self._tails.get(key)
        if found is None:
            item = exposure_item(e)
            found = self._tails[key] = json.dumps(
                {k: v for k, v in item.items() if k not in self._HEAD}, separators=(",", ":")
            )[1:]
        return found


# --- watchlists, snoozes, deliveries -----------------------------------------------------------------------------
def watchlist_item(w: "Watchlist", configured: bool) -> dict[str, Any]:
    return {
        "name": w.name,
        "owner": w.owner,
        "from": "config" if configured else "watch add",
        "products": list(w.products),
        "lines": list(w.lines),
        "vcenters": list(w.vcenters),
        "clusters": list(w.clusters),
        "tags": list(w.tags),
        "events": list(w.events),
        "min_severity": w.min_severity.value,
        "immediate": list(w.immediate),
        "digest": list(w.digest),
    }


def snooze_item(r: "SnoozeRecord", now: datetime) -> dict[str, Any]:
    return {
        "id": r.id,
        "kind": r.target_kind.value,
        "target": r.target,
        "until": iso(r.until),
        "reason": r.reason,
        "state": r.ended_reason or ("expired" if r.until <= now else "standing"),
    }


def delivery_item(row: "OutboxMessage", attempts: Sequence["DeliveryAttempt"]) -> dict[str, Any]:
    return {
        "id": row.id,
        "kind": row.kind.value,
        "channel": row.channel,
        "status": row.status.value,
        "attempts": row.attempts,
        "event_id": row.event_id,
        "created_at": iso(row.created_at),
        "next_attempt_at": iso(row.next_attempt_at) if row.status == OutboxStatus.PENDING else None,
        "sent_at": iso(row.sent_at),
        "last_error": row.last_error,
        "what": row.payload.get("detail") or row.dedup_key,
        "targets": [
            {
                "target": a.target,
                "ok": a.ok,
                "permanent": a.permanent,
                "error": a.error,
                "attempted_at": iso(a.attempted_at),
            }
            for a in attempts
        ],
    }
