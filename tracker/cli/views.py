"""What the poll and catalog commands print: the poll summary, events, builds, sources (the progress line of a long
cycle: tracker/cli/progress.py)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from tracker.cli.output import echo_json, esc, rich_console, rich_table
from tracker.domain.catalog import BuildStatus
from tracker.domain.clock import human
from tracker.domain.events import Event
from tracker.domain.health import SourceState
from tracker.domain.words import count
from tracker.listings import build_items, event_item, source_items

if TYPE_CHECKING:  # rows are only read here: the poll summary of a quiet cycle must not load the ORM
    from tracker.cycle.plan import Schedule
    from tracker.cycle.report import PollReport
    from tracker.jobs.sources import SourceListing
    from tracker.store.records import BuildRecord, EventRecord, EvidenceRecord, SourceStatus


# --- poll ------------------------------------------------------------------------------------------------------
def poll_summary(report: PollReport, as_json: bool) -> None:
    # lazy: the poll cycle's package (0.1 s), loaded by the poll that made `report`; builds and events never need it
    from tracker.cycle.report import outcome_tally

    counts: dict[str, int] = {}
    for outcome in report.outcomes:
        counts[outcome.outcome] = counts.get(outcome.outcome, 0) + 1
    if as_json:
        echo_json(
            {
                "sources": [o.__dict__ for o in report.outcomes],
                "counts": counts,
                "events": [_event_brief(e) for e in report.events],
            }
        )
        return
    headline = f"polled {count(len(report.outcomes), 'source')}: {outcome_tally(counts) or 'nothing to poll'}"
    if not report.events and not any(o.error or o.skipped for o in report.outcomes):
        print(f"{headline}\nno new events")  # a quiet cycle: plain text, without loading rich
        return
    console = rich_console()
    console.print(headline)
    for outcome in report.outcomes:
        if outcome.error:
            console.print(f"  [yellow]{esc(outcome.source_id)}[/]: {outcome.outcome}: {esc(outcome.error)}")
        if outcome.skipped:
            console.print(f"  {esc(outcome.source_id)}: {count(len(outcome.skipped), 'row')} skipped:")
            for skipped in outcome.skipped[:5]:
                console.print(f"    {esc(skipped['where'])}: {esc(skipped['reason'])}: {esc(skipped['text'][:80])!r}")
            if len(outcome.skipped) > 5:
                console.print(f"    ... and {len(outcome.skipped) - 5} more (tracker poll --json lists them all)")
    if not report.events:
        console.print("no new events")
    for event in report.events:
        console.print(f"  [bold]{event.kind.value}[/] ({event.confidence.value}): {esc(event.detail)}")


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
    row: EventRecord, evidence: Sequence[EvidenceRecord], builds: dict[tuple[str, int], BuildRecord]
) -> dict[str, Any]:
    entry = builds.get((row.product or "", row.build or 0))
    return event_item(row, evidence, entry.replaced_by if entry else None)


def events_view(
    rows: Sequence[tuple[EventRecord, Sequence[EvidenceRecord]]],
    builds: dict[tuple[str, int], BuildRecord],
    as_json: bool,
    zone: str = "UTC",
    name: Callable[[str], str] = str,
) -> None:
    """The events, each time in `zone`, each source by `name` (tracker/notify/naming.py: never an internal id)."""
    data = [event_json(row, evidence, builds) for row, evidence in rows]
    if as_json:
        echo_json(data)
        return
    table = rich_table(count(len(data), "event"), ["id", "observed", "kind", "confidence", "what", "evidence from"])
    for item in data:
        what = item["detail"]
        if item["replaced_by"]:
            what += f" - replaced by {item['replaced_by']}"
        sources = sorted({name(e["source"]) for e in item["evidence"]})
        table.add_row(
            str(item["id"]),
            human(item["observed_at"], zone),
            item["kind"],
            item["confidence"],
            esc(what),
            esc(", ".join(sources)),
        )
    rich_console().print(table)


# --- builds ----------------------------------------------------------------------------------------------------
def builds_view(rows: Sequence[BuildRecord], listing: dict[tuple[str, int], list[str]], as_json: bool) -> None:
    """The builds, each with how many sources list it now (`listing`: tracker/listings.py `listed_by`)."""
    data = build_items(rows, listing)
    if as_json:
        echo_json(data)
        return
    table = rich_table(count(len(data), "build"), ["product", "release", "build", "released", "status", "listed by"])
    for item in data:
        status = item["status"]
        if status == BuildStatus.PULLED:
            status = f"[red]pulled[/] ({item['confidence']})" + (
                f" -> {item['replaced_by']}" if item["replaced_by"] else ""
            )
        table.add_row(
            item["product"],
            esc(item["release"]),
            str(item["build"]),
            esc(item["release_date"] or ""),
            status,
            str(len(item["listed_by"])),
        )
    rich_console().print(table)


# --- sources ---------------------------------------------------------------------------------------------------
def sources_view(listing: SourceListing, show_all: bool, as_json: bool, zone: str = "UTC") -> None:
    """The sources' health, schedule and warnings."""
    rows, planned = listing.rows, listing.planned
    data = source_items(listing, show_all)
    if as_json:
        echo_json(data)
        return
    table = rich_table("sources", ["id", "kind", "health", "last success", "rows", "next poll", "last error"])
    for item in data:
        table.add_row(
            esc(item["id"]),
            item["kind"],
            _health_cell(item)
            + (f" [yellow]({count(len(item['warnings']), 'warning')})[/]" if item["warnings"] else ""),
            human(item["last_success"], zone) or "never",
            str(item["rows_seen"]),
            _next_cell(item, zone),
            esc(item["last_error"] or ""),
        )
    console = rich_console()
    console.print(table)
    for item in data:
        for warning in item["warnings"]:
            console.print(f"[yellow]warning[/] {esc(item['id'])}: {esc(warning)}")
    followed = [r for r in rows if not r.configured and r.active]
    if followed and not show_all:
        bad = sum(1 for s in listing.verdict.followed if s.state not in (SourceState.OK, SourceState.REMOVED))
        tiers = _tier_counts(followed, planned)
        console.print(
            f"plus {count(len(followed), 'release-notes page')} followed from KB rows ({bad} not ok; fetched {tiers});"
            " --all lists them"
        )
    if listing.running:
        console.print(f"a poll cycle is running now ({esc(listing.running)})")


HEALTH_STYLE = {  # green for `ok` only: a warning is never shown as good news
    SourceState.NEVER_POLLED: "dim",
    SourceState.OK: "green",
    SourceState.WARNING: "yellow",
    SourceState.ANOMALY: "yellow",
    SourceState.FAILING: "red",
    SourceState.REMOVED: "dim",
}


def _health_cell(item: dict[str, Any]) -> str:
    """The health verdict's state for the source (`health`), in its colour."""
    state = SourceState(item["health"])
    return f"[{HEALTH_STYLE[state]}]{state.value}[/]"


def _next_cell(item: dict[str, Any], zone: str) -> str:
    if not item["active"]:
        return ""
    if item["tier"] is not None:
        when = human(item["next_poll"], zone) or "with its KB table"
        return f"{when} ({item['tier']})"
    return human(item["next_poll"], zone) or "now"


def _tier_counts(followed: Sequence[SourceStatus], planned: dict[str, Schedule]) -> str:
    counts: dict[str, int] = {}
    for row in followed:
        schedule = planned.get(row.id)
        tier = schedule.tier.value if schedule and schedule.tier else "every-cycle"
        counts[tier] = counts.get(tier, 0) + 1
    return ", ".join(f"{n} {tier}" for tier, n in sorted(counts.items()))
