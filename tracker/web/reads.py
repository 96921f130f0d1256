"""The read side of the web face: what the pages and `/api/v1` show, as the dicts of tracker/listings.py (the CLI's
`--json` keys), with the filters and keyset cursors of each listing. Routes stay thin: they parse the query, call
one function here, and render or return what it gives."""

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from tracker.domain.alerts import SnoozeKind
from tracker.domain.catalog import Catalog
from tracker.domain.exposure import Status
from tracker.domain.exposure_filter import ExposureFilter
from tracker.domain.health import SourceState
from tracker.domain.words import count
from tracker.filters import Filter, check
from tracker.jobs.sources import gather_sources
from tracker.listings import (
    asset_item,
    build_item,
    build_items,
    delivery_item,
    event_item,
    exposure_item,
    health_item,
    iso,
    listed_by,
    snooze_item,
    source_items,
    watchlist_item,
)
from tracker.notify.pipeline import watchlists as every_watchlist
from tracker.store import OutboxStatus
from tracker.store import snoozes as stored_snoozes
from tracker.store.db import session_scope
from tracker.store.outbox import deliveries as outbox_rows
from tracker.store.reads import EventFilter, build_row, events_page, replaced, sightings_of
from tracker.store.repo import list_builds, load_catalog
from tracker.web.context import WebContext
from tracker.web.exposure import BadCursor, severity_cards

MAX_LIMIT = 1000  # rows per page of any listing
DEFAULT_LIMIT = 100


@dataclass(frozen=True)
class Page:
    """One page of a listing: its rows, the cursor of the next page (None after the last), and the total where it
    is known without a second query."""

    items: list[dict[str, Any]]
    next_cursor: str | None
    total: int | None = None

    def json(self) -> dict[str, Any]:
        return {"items": self.items, "next_cursor": self.next_cursor, "total": self.total}


def page_of(items: list[dict[str, Any]], key: str, cursor: str | None, limit: int) -> Page:
    """A page of a short listing (builds, sources, deliveries, watchlists, snoozes), in its own order: the cursor
    is the `key` of the last item shown, so items added before it never shift the next page."""
    start = 0
    if cursor:
        keys = [str(item[key]) if key != "build" else f"{item['product']}/{item['build']}" for item in items]
        if cursor not in keys:
            raise BadCursor(f"cursor: the item it names is gone (or it is not this listing's): {cursor[:40]!r}")
        start = keys.index(cursor) + 1
    shown = items[start : start + limit]
    more = start + limit < len(items)
    last = shown[-1] if shown else None
    next_cursor = None
    if more and last is not None:
        next_cursor = f"{last['product']}/{last['build']}" if key == "build" else str(last[key])
    return Page(shown, next_cursor, len(items))


# --- builds ------------------------------------------------------------------------------------------------------
def builds(ctx: WebContext, product: str | None, line: str | None, status: str | None) -> list[dict[str, Any]]:
    """The catalog newest first, as `tracker builds --json`."""

    with session_scope(ctx.engine) as session:
        rows, catalog = list_builds(session), load_catalog(session)
    rows = [r for r in rows if (product is None or r.product == product) and (line is None or r.line == line)]
    return build_items([r for r in rows if status is None or r.status == status], listed_by(catalog))


def build(ctx: WebContext, product: str, number: int) -> dict[str, Any] | None:
    """One build with its timeline: each source's evidence (listed or gone, with excerpt and URL), its events with
    their evidence, the builds it replaces and the one that replaces it."""

    with session_scope(ctx.engine) as session:
        row = build_row(session, product, number)
        if row is None:
            return None
        catalog = load_catalog(session)
        sightings = sightings_of(session, product, number)
        events = events_page(session, EventFilter(product=product, build=number), None, MAX_LIMIT)
        replaces = replaced(session, product, number)
    item = build_item(row, listed_by(catalog))
    item["evidence"] = [
        {
            "source": s.source_id,
            "url": s.url,
            "excerpt": s.excerpt,
            "first_seen": iso(s.first_seen),
            "last_seen": iso(s.last_seen),
            "listed": not s.gone,
            "misses": s.misses,
        }
        for s in sightings
    ]
    item["events"] = [event_item(e, evidence, row.replaced_by) for e, evidence in reversed(events)]
    item["replaces"] = [{"build": r.build, "release": r.release_name, "status": r.status} for r in replaces]
    item["pull_notices"] = list(row.pull_notices)
    return item


# --- events ------------------------------------------------------------------------------------------------------
def events(ctx: WebContext, wanted: EventFilter, cursor: str | None, limit: int) -> Page:
    """Newest first; the cursor is the id of the last event shown (ids only grow: new events never shift a page)."""

    before = _int_cursor(cursor)
    with session_scope(ctx.engine) as session:
        rows = events_page(session, wanted, before, limit + 1)
        replaced_by = {(b.product.value, b.build): b.replaced_by for b in list_builds(session)}
    shown = rows[:limit]
    items = [event_item(e, ev, replaced_by.get((e.product or "", e.build or 0))) for e, ev in shown]
    more = len(rows) > limit
    return Page(items, str(shown[-1][0].id) if more and shown else None)


def _int_cursor(cursor: str | None) -> int | None:
    if not cursor:
        return None
    if not cursor.isdigit():
        raise BadCursor(f"cursor: not a cursor this listing handed out: {cursor[:40]!r}")
    return int(cursor)


# --- exposure and assets -----------------------------------------------------------------------------------------
def exposure(ctx: WebContext, wanted: ExposureFilter, sort: str, cursor: str | None, limit: int) -> Page:
    """Each asset's findings and target, as `tracker exposure --json`, filtered, sorted and paged."""
    assessed = ctx.exposure.current()
    selection = assessed.select(wanted, sort)
    rows, next_cursor = selection.page(cursor, limit)
    return Page(json.loads(assessed.rows_json(rows)), next_cursor, len(selection.rows))


def exposure_json(ctx: WebContext, wanted: ExposureFilter, sort: str, cursor: str | None, limit: int) -> str:
    """`exposure()` as the API's JSON body, each row encoded once per assessment (100,000 rows page by page)."""
    assessed = ctx.exposure.current()
    selection = assessed.select(wanted, sort)
    rows, next_cursor = selection.page(cursor, limit)
    tail = json.dumps({"next_cursor": next_cursor, "total": len(selection.rows)})
    return '{"items":' + assessed.rows_json(rows) + "," + tail[1:]


def assessment(ctx: WebContext) -> dict[str, Any]:
    """When the assessment the exposure pages show was made, and whether a newer one is being made (stale while
    revalidating: the pages never wait for it)."""
    at = ctx.exposure.current().at
    minutes = max(0, int((ctx.now - at).total_seconds() // 60))
    age = f"{count(minutes, 'minute')} ago" if minutes else "less than a minute ago"
    return {"assessed_at": iso(at), "age": age, "updating": ctx.exposure.refreshing}


def assets(ctx: WebContext, wanted: ExposureFilter, cursor: str | None, limit: int) -> Page:
    """The inventory by name, as `tracker inventory list --json`, with the exposure page's filters."""
    selection = ctx.exposure.current(full=True).select(wanted, "asset")  # with each asset's VIBs
    rows, next_cursor = selection.page(cursor, limit)
    return Page([asset_item(e.asset) for e in rows], next_cursor, len(selection.rows))


def asset(ctx: WebContext, name: str) -> dict[str, Any] | None:
    """One asset (a host and a VM may share a name: each is listed): what it runs, its findings, the target and
    why, and the snoozes that name it or its build."""

    found = ctx.exposure.current(full=True).by_name.get(name.casefold())
    if not found:
        return None
    with session_scope(ctx.engine) as session:
        rows = stored_snoozes.every(session)
    now = ctx.now
    builds_run = {str(e.asset.build) for e in found if e.asset.build}
    return {
        "name": found[0].asset.name,
        "assets": [{**asset_item(e.asset), "exposure": exposure_item(e)} for e in found],
        "snoozes": [
            snooze_item(r, now)
            for r in rows
            if (r.target_kind is SnoozeKind.ASSET and r.target.casefold() == name.casefold())
            or (r.target_kind is SnoozeKind.BUILD and r.target in builds_run)
        ],
    }


# --- sources, deliveries, watchlists, snoozes ---------------------------------------------------------------------
def sources(ctx: WebContext, show_all: bool = False) -> list[dict[str, Any]]:
    """As `tracker sources --json`: each source with the health verdict's state for it."""
    return source_items(gather_sources(ctx.config, ctx.engine, ctx.now), show_all)


def health(ctx: WebContext) -> dict[str, Any]:
    """The health verdict, as `tracker health --json` prints it."""
    return health_item(gather_sources(ctx.config, ctx.engine, ctx.now).verdict)


def deliveries(ctx: WebContext, status: str | None) -> list[dict[str, Any]]:
    """The outbox newest first, each row with its targets' outcomes (targets in apprise's privacy form)."""

    with session_scope(ctx.engine) as session:
        rows = outbox_rows(session, OutboxStatus(status) if status else None)
    return [delivery_item(row, attempts) for row, attempts in reversed(rows)]


def watchlists(ctx: WebContext) -> list[dict[str, Any]]:
    with session_scope(ctx.engine) as session:
        found = every_watchlist(ctx.config, session)
    configured = {w.name for w in ctx.config.watchlists}
    return [watchlist_item(w, w.name in configured) for w in found]


def snoozes(ctx: WebContext) -> list[dict[str, Any]]:
    with session_scope(ctx.engine) as session:
        rows = stored_snoozes.every(session)
    return [snooze_item(r, ctx.now) for r in reversed(rows)]


# --- the overview ------------------------------------------------------------------------------------------------
def overview(ctx: WebContext) -> dict[str, Any]:
    """What needs action now: pulled builds running here (and on how many assets), assets by severity, assets on a
    hold, sources in trouble, the last and next poll, failed deliveries."""
    assessed = ctx.exposure.current(full=True)
    pulled: dict[tuple[str, int], dict[str, Any]] = {}
    held = []
    for e in assessed.exposures:
        if e.hold:
            held.append({"asset": e.asset.name, "cluster": e.asset.cluster, "hold": e.hold})
        if Status.PULLED in e.statuses and e.asset.build:
            key = (e.asset.kind.product.value, e.asset.build)
            if key not in pulled:
                pulled[key] = _pulled_entry(e)
            pulled[key]["assets"].append(e.asset.name)
    listing = gather_sources(ctx.config, ctx.engine, ctx.now)
    source_list = source_items(listing, False)
    failed = deliveries(ctx, "failed")
    return {
        "now": iso(ctx.now),
        "pulled_in_estate": sorted(pulled.values(), key=lambda p: (-len(p["assets"]), p["build"])),
        "assets_by_severity": assessed.counts(),
        "severity_cards": severity_cards(assessed),
        "assets": len(assessed.rows),
        "on_hold": held,
        "health": health_item(listing.verdict),  # the one verdict: `tracker health`'s status and problems
        "every_source_ok": listing.verdict.every_source_ok,
        "sources_in_trouble": [s for s in source_list if s["problem"]],
        # waiting (never polled) or removed: not ok, and not a problem
        "sources_not_ok": [s for s in source_list if s["health"] != SourceState.OK and not s["problem"]],
        "sources": len(source_list),
        "last_poll": _last(s["last_success"] for s in source_list),
        "next_poll": _first(s["next_poll"] for s in source_list if s["configured"]),
        "failed_deliveries": failed,
        "assessed_at": iso(assessed.at),
        "assessment_updating": ctx.exposure.refreshing,
    }


def _pulled_entry(e: Any) -> dict[str, Any]:
    return {
        "product": e.asset.kind.product.value,
        "build": e.asset.build,
        "release": e.release.name if e.release else None,
        "recommended_build": e.recommended_build,
        "recommended_release": e.recommended_release,
        "hold": e.hold,
        "assets": [],
    }


def _last(values: Any) -> str | None:
    present = [v for v in values if v]
    return max(present) if present else None


def _first(values: Any) -> str | None:
    present = [v for v in values if v]
    return min(present) if present else None


def source_namer(ctx: WebContext) -> Callable[[str], str]:
    """How the pages name a source: as alerts do (tracker/notify/naming.py: its `name:`, "KB 316595 (...)",
    "ESXi 7.0 U3 release notes"), never an internal id such as `esxi-kb:notes:18644231`."""
    from tracker.notify.naming import source_namer as namer  # lazy: as the store's reads of this module
    from tracker.store.db import session_scope
    from tracker.store.repo import load_catalog

    def catalog_of() -> Catalog:
        with session_scope(ctx.engine) as session:
            return load_catalog(session)

    return namer(ctx.config.sources, catalog_of)


def checked(ctx: WebContext, listing: Mapping[str, Filter], **given: Any) -> dict[str, Any]:
    """A listing's query parameters through their one definition (tracker/filters.py), dates in the configured
    zone; FilterRefused (a 422, JSON or a page, listing every problem) for a bad value."""
    return check(listing, given, ctx.config.timezone)


def limit_of(value: int | None) -> int:
    return DEFAULT_LIMIT if value is None else max(1, min(MAX_LIMIT, value))


__all__ = ["DEFAULT_LIMIT", "MAX_LIMIT", "EventFilter", "ExposureFilter", "Page"]
