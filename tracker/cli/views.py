"""What the CLI prints: rich tables for people, JSON with stable keys for scripts, and the poll progress."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from functools import lru_cache
from types import TracebackType
from typing import TYPE_CHECKING, Any

from tracker.cycle.report import PollReport
from tracker.domain.catalog import Catalog
from tracker.domain.events import Event
from tracker.domain.exposure import Exposure
from tracker.domain.inventory import Asset, ImportPlan, ImportResult
from tracker.domain.versions import Product, Release, VersionError

if TYPE_CHECKING:  # rows are only read here: the poll summary of a quiet cycle must not load the ORM
    from tracker.cycle.plan import Schedule
    from tracker.store.models import BuildRow, EventEvidenceRow, EventRow, SourceRow


def utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _iso(value: datetime | None) -> str | None:
    return utc(value).isoformat().replace("+00:00", "Z") if value else None


def _short(value: str | None) -> str:
    """An ISO time as people read it in a table: 2021-11-19 08:00Z."""
    return value[:16].replace("T", " ") + "Z" if value else ""


def _echo_json(data: Any) -> None:
    # Pretty for what a person may read; compact (and C-encoded, ~10x faster) for the 100,000-row listings.
    indent = 2 if not isinstance(data, list) or len(data) <= 1000 else None
    sys.stdout.write(json.dumps(data, indent=indent, default=str) + "\n")


def _console() -> Any:
    from rich.console import Console

    # Piped output (a file, `less`) gets a wide table rather than rich's 80-column default.
    return Console(highlight=False, emoji=False, width=None if sys.stdout.isatty() else 140)


def _e(text: object) -> str:
    """Data shown through rich: brackets in an error message ("[Errno 111]") are text, not markup."""
    from rich.markup import escape

    return escape(str(text))


def _table(title: str, columns: Sequence[str]) -> Any:
    from rich.table import Table

    table = Table(title=title, title_justify="left", header_style="bold")
    for column in columns:
        table.add_column(column, overflow="fold")
    return table


class Progress:
    """One line per source on a terminal (stderr), nothing otherwise."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.count = 0

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        if self.enabled and self.count:
            sys.stderr.write("\r\033[K")
            sys.stderr.flush()

    def __call__(self, source_id: str) -> None:
        self.count += 1
        if self.enabled:
            sys.stderr.write(f"\r\033[Kpolling {self.count}: {source_id}")
            sys.stderr.flush()


# --- poll ------------------------------------------------------------------------------------------------------
def poll_summary(report: PollReport, as_json: bool) -> None:
    counts: dict[str, int] = {}
    for outcome in report.outcomes:
        counts[outcome.outcome] = counts.get(outcome.outcome, 0) + 1
    if as_json:
        _echo_json(
            {
                "sources": [o.__dict__ for o in report.outcomes],
                "counts": counts,
                "events": [_event_brief(e) for e in report.events],
            }
        )
        return
    parts = ", ".join(f"{n} {k.replace('_', ' ')}" for k, n in sorted(counts.items()))
    headline = f"polled {len(report.outcomes)} source(s): {parts or 'nothing to poll'}"
    if not report.events and not any(o.error or o.skipped for o in report.outcomes):
        print(f"{headline}\nno new events")  # a quiet cycle: plain text, without loading rich
        return
    console = _console()
    console.print(headline)
    for outcome in report.outcomes:
        if outcome.error:
            console.print(f"  [yellow]{_e(outcome.source_id)}[/]: {outcome.outcome}: {_e(outcome.error)}")
        if outcome.skipped:
            console.print(f"  {_e(outcome.source_id)}: {len(outcome.skipped)} row(s) skipped:")
            for skipped in outcome.skipped[:5]:
                console.print(f"    {_e(skipped['where'])}: {_e(skipped['reason'])}: {_e(skipped['text'][:80])!r}")
            if len(outcome.skipped) > 5:
                console.print(f"    ... and {len(outcome.skipped) - 5} more (tracker poll --json lists them all)")
    if not report.events:
        console.print("no new events")
    for event in report.events:
        console.print(f"  [bold]{event.kind.value}[/] ({event.confidence.value}): {_e(event.detail)}")


def _event_brief(event: Event) -> dict[str, Any]:
    return {
        "kind": event.kind.value,
        "product": event.product.value if event.product else None,
        "build": event.build,
        "release": event.release,
        "confidence": event.confidence.value,
        "detail": event.detail,
    }


# --- events ----------------------------------------------------------------------------------------------------
def event_json(
    row: EventRow, evidence: Sequence[EventEvidenceRow], builds: dict[tuple[str, int], BuildRow]
) -> dict[str, Any]:
    entry = builds.get((row.product or "", row.build or 0))
    return {
        "id": row.id,
        "kind": row.kind,
        "product": row.product,
        "build": row.build,
        "release": row.release,
        "observed_at": _iso(row.observed_at),
        "confidence": row.confidence,
        "evidence": [
            {"source": e.source_id, "url": e.url, "excerpt": e.excerpt, "observed_at": _iso(e.observed_at)}
            for e in evidence
        ],
        "replaced_by": entry.replaced_by if entry else None,
        "replaces": list(row.replaces),
        "source": row.source_id,
        "detail": row.detail,
    }


def events_view(
    rows: Sequence[tuple[EventRow, Sequence[EventEvidenceRow]]], builds: dict[tuple[str, int], BuildRow], as_json: bool
) -> None:
    data = [event_json(row, evidence, builds) for row, evidence in rows]
    if as_json:
        _echo_json(data)
        return
    table = _table(f"{len(data)} event(s)", ["id", "observed", "kind", "confidence", "what", "evidence from"])
    for item in data:
        what = item["detail"]
        if item["replaced_by"]:
            what += f" - replaced by {item['replaced_by']}"
        sources = sorted({e["source"] for e in item["evidence"]})
        table.add_row(
            str(item["id"]),
            _short(item["observed_at"]),
            item["kind"],
            item["confidence"],
            _e(what),
            _e(", ".join(sources)),
        )
    _console().print(table)


# --- builds ----------------------------------------------------------------------------------------------------
def _order(row: BuildRow) -> tuple[Any, ...]:
    try:
        return (row.product, Release.parse(row.release_name, Product(row.product)).sort_key, row.build)
    except VersionError:
        return (row.product, (0,), row.build)


def builds_view(rows: Sequence[BuildRow], catalog: Catalog, as_json: bool) -> None:
    ordered = sorted(rows, key=_order, reverse=True)
    listing: dict[tuple[str, int], list[str]] = {}
    for sighting in catalog.all_sightings():
        if sighting.present:
            listing.setdefault((sighting.product.value, sighting.build), []).append(sighting.source_id)
    data: list[dict[str, Any]] = [
        {
            "product": r.product,
            "build": r.build,
            "release": r.release_name,
            "line": r.line,
            "release_date": r.release_date,
            "status": r.status,
            "confidence": r.pull_confidence,
            "replaced_by": r.replaced_by,
            "alt_builds": list(r.alt_builds),
            "notes_url": r.notes_url,
            "listed_by": sorted(listing.get((r.product, r.build), [])),
            "first_seen": _iso(r.first_seen),
        }
        for r in ordered
    ]
    if as_json:
        _echo_json(data)
        return
    table = _table(f"{len(data)} build(s)", ["product", "release", "build", "released", "status", "listed by"])
    for item in data:
        status = item["status"]
        if status == "pulled":
            status = f"[red]pulled[/] ({item['confidence']})" + (
                f" -> {item['replaced_by']}" if item["replaced_by"] else ""
            )
        table.add_row(
            item["product"],
            _e(item["release"]),
            str(item["build"]),
            item["release_date"] or "",
            status,
            str(len(item["listed_by"])),
        )
    _console().print(table)


# --- sources ---------------------------------------------------------------------------------------------------
def sources_view(
    rows: Sequence[SourceRow],
    planned: dict[str, Schedule],
    unsynced: Sequence[tuple[str, str, str]],
    show_all: bool,
    as_json: bool,
    running: str | None = None,
) -> None:
    """The sources' health and schedule; `unsynced`: configured sources not polled yet (id, kind, product);
    `running` says which process is polling right now, if one is."""
    shown = [r for r in rows if r.configured or show_all]
    data = [_source_item(r, planned.get(r.id)) for r in sorted(shown, key=lambda r: (not r.configured, r.id))]
    data[:0] = [_unsynced_item(sid, kind, product, planned.get(sid)) for sid, kind, product in unsynced]
    if as_json:
        _echo_json(data)
        return
    table = _table("sources", ["id", "kind", "health", "last success", "rows", "next poll", "last error"])
    for item in data:
        table.add_row(
            _e(item["id"]),
            item["kind"],
            _health_cell(item),
            _short(item["last_success"]) or "never",
            str(item["rows_seen"]),
            _next_cell(item),
            _e(item["last_error"] or ""),
        )
    console = _console()
    console.print(table)
    followed = [r for r in rows if not r.configured and r.active]
    if followed and not show_all:
        bad = sum(1 for r in followed if r.health != "ok")
        tiers = _tier_counts(followed, planned)
        console.print(
            f"plus {len(followed)} release-notes page(s) followed from KB rows ({bad} not ok; fetched {tiers});"
            " --all lists them"
        )
    if running:
        console.print(f"a poll cycle is running now ({_e(running)})")


def _source_item(r: SourceRow, schedule: Schedule | None) -> dict[str, Any]:
    return {
        "id": r.id,
        "kind": r.kind,
        "product": r.product,
        "url": r.url,
        "configured": r.configured,
        "active": r.active,
        "health": r.health,
        "failures": r.failures,
        "last_success": _iso(r.last_success_at),
        "last_error": r.last_error,
        "last_error_at": _iso(r.last_error_at),
        "rows_seen": r.rows_seen,
        "tier": schedule.tier.value if schedule and schedule.tier else None,
        "next_poll": _iso(schedule.next_poll) if schedule and schedule.next_poll and r.active else None,
    }


def _unsynced_item(source_id: str, kind: str, product: str, schedule: Schedule | None) -> dict[str, Any]:
    empty = dict.fromkeys(("url", "last_success", "last_error", "last_error_at", "tier"))
    next_poll = _iso(schedule.next_poll) if schedule and schedule.next_poll else None
    return {
        **empty,
        "id": source_id,
        "kind": kind,
        "product": product,
        "configured": True,
        "active": True,
        "health": "unknown",
        "failures": 0,
        "rows_seen": 0,
        "next_poll": next_poll,
    }


def _health_cell(item: dict[str, Any]) -> str:
    health = {
        "ok": "[green]ok[/]",
        "anomaly": "[yellow]anomaly[/]",
        "failing": "[red]failing[/]",
        "unknown": "[dim]never polled[/]",
    }[item["health"]]
    return health if item["active"] else health + " (retired)"


def _next_cell(item: dict[str, Any]) -> str:
    if not item["active"]:
        return ""
    if item["tier"] is not None:
        when = _short(item["next_poll"]) or "with its KB table"
        return f"{when} ({item['tier']})"
    return _short(item["next_poll"]) or "now"


def _tier_counts(followed: Sequence[SourceRow], planned: dict[str, Schedule]) -> str:
    counts: dict[str, int] = {}
    for row in followed:
        schedule = planned.get(row.id)
        tier = schedule.tier.value if schedule and schedule.tier else "every-cycle"
        counts[tier] = counts.get(tier, 0) + 1
    return ", ".join(f"{n} {tier}" for tier, n in sorted(counts.items()))


# --- inventory -------------------------------------------------------------------------------------------------
class _RowProgress:
    """A progress bar on stderr while a large file is read (only on a terminal)."""

    def __init__(self, label: str, total: int | None, enabled: bool) -> None:
        self.label, self.total, self.enabled = label, total, enabled
        self._progress: Any = None
        self._task: Any = None

    def __enter__(self) -> _RowProgress:
        if self.enabled:
            from rich.console import Console
            from rich.progress import Progress as Bar

            self._progress = Bar(console=Console(stderr=True), transient=True)
            self._progress.start()
            self._task = self._progress.add_task(f"reading {self.label}", total=self.total)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.stop()

    def __call__(self, rows: int) -> None:
        if self._progress is not None:
            self._progress.update(self._task, completed=rows, description=f"reading {self.label}: {rows:,} rows")


def row_progress(label: str, total: int | None, enabled: bool) -> _RowProgress:
    return _RowProgress(label, total, enabled)


def _asset_json(asset: Asset) -> dict[str, Any]:
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
        "origin": asset.origin,
    }


def import_view(target: str, result: ImportResult, plan: ImportPlan, dry_run: bool, as_json: bool) -> None:
    if as_json:
        _echo_json(
            {
                "source": target,
                "dry_run": dry_run,
                "read": len(result.assets),
                "added": [a.name for a in plan.added],
                "updated": [after.name for _, after in plan.updated],
                "unchanged": len(plan.unchanged),
                "removed": [a.name for a in plan.removed],
                "warnings": list(result.warnings),
            }
        )
        return
    console = _console()
    verb = "would change" if dry_run else "imported"
    console.print(
        f"{_e(target)}: {len(result.assets)} asset(s) read; {verb}: {len(plan.added)} added, "
        f"{len(plan.updated)} updated, {len(plan.removed)} removed, {len(plan.unchanged)} unchanged"
    )
    for warning in result.warnings:
        console.print(f"  [yellow]warning[/]: {_e(warning)}")
    for label, names in (
        ("added", [a.name for a in plan.added]),
        ("updated", [f"{after.name} ({_change(before, after)})" for before, after in plan.updated]),
        ("removed (no longer listed)", [a.name for a in plan.removed]),
    ):
        if names:
            shown = ", ".join(names[:20]) + (f" and {len(names) - 20} more" if len(names) > 20 else "")
            console.print(f"  {label}: {_e(shown)}")
    if dry_run:
        console.print("dry run: nothing was written")


def _change(before: Asset, after: Asset) -> str:
    fields = [
        f
        for f in ("build", "cluster", "vcenter", "datacenter", "owner", "tags", "vibs")
        if getattr(before, f) != getattr(after, f)
    ]
    if before.build != after.build:
        fields[0] = f"build {before.build} -> {after.build}"
    return ", ".join(fields) or "details"


def assets_view(assets: Sequence[Asset], as_json: bool) -> None:
    if as_json:
        _echo_json([_asset_json(a) for a in assets])
        return
    table = _table(f"{len(assets)} asset(s)", ["name", "kind", "build", "version", "vcenter", "cluster", "vibs"])
    for a in assets:
        table.add_row(
            _e(a.name),
            a.kind.value,
            str(a.build or ""),
            _e(a.version_text),
            _e(a.vcenter),
            _e(a.cluster),
            _e(", ".join(v.name for v in a.vibs)),
        )
    _console().print(table)


# --- exposure --------------------------------------------------------------------------------------------------
def exposure_json(item: Exposure) -> dict[str, Any]:
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
        "advisories": list(item.advisories),
        "reasons": list(item.reasons),
    }


@lru_cache(maxsize=1024)
def _release_name(release: Release | None) -> str | None:
    return release.name if release else None


_SEVERITY_STYLE = {"critical": "bold red", "important": "red", "moderate": "yellow", "low": "cyan", "none": "green"}


def exposure_view(results: Sequence[Exposure], as_json: bool) -> None:
    if as_json:
        _echo_json([exposure_json(r) for r in results])
        return
    table = _table(
        f"{len(results)} asset(s), worst first", ["asset", "cluster", "runs", "status", "severity", "target", "why"]
    )
    for r in results:
        runs = f"{r.release.short if r.release else '?'} ({r.asset.build or '?'})"
        target = f"{r.recommended_release} ({r.recommended_build})" if r.recommended else (r.hold and "hold") or "-"
        why = "; ".join([*r.reasons, *([r.hold] if r.hold else [])])
        style = _SEVERITY_STYLE[r.severity.value]
        table.add_row(
            _e(r.asset.name),
            _e(r.asset.cluster),
            _e(runs),
            ", ".join(s.value for s in r.statuses),
            f"[{style}]{r.severity.value}[/]",
            _e(target),
            _e(why),
        )
    _console().print(table)
