"""/feeds: an Atom feed of events (all, or those a watchlist selects by kind, product and line), built with feedgen;
an ICS calendar (icalendar) of each line's end of general support and of technical guidance, and of when each
standing snooze runs out. Both are reads: with `web.read: token` they need a token (`?token=` is not taken: a feed
reader sends the Authorization header, or reads are open)."""

from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import Response

from tracker.domain.events import EventKind
from tracker.listings import iso
from tracker.notify.pipeline import watchlists
from tracker.reference import lifecycles, product_info
from tracker.store.db import session_scope
from tracker.store.repo import list_builds
from tracker.web import reads
from tracker.web.auth import Need, check
from tracker.web.context import Ctx, WebContext
from tracker.web.reads import EventFilter


def _reader(request: Request) -> None:
    check(request.app.state.ctx.config, request, Need.READ)


router = APIRouter(prefix="/feeds", include_in_schema=False, dependencies=[Depends(_reader)])
FEED_SIZE = 100


@router.get("/events.atom")
def events_atom(
    ctx: Ctx,
    request: Request,
    watchlist: str | None = None,
    kind: Annotated[list[str] | None, Query()] = None,
    product: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = FEED_SIZE,
) -> Response:
    """The newest events, newest first, each linking to its build's page."""

    chosen = _watchlist(ctx, watchlist) if watchlist else None
    page = reads.events(ctx, EventFilter(kinds=tuple(kind or ()), product=product), None, 1000 if chosen else limit)
    items = page.items
    if chosen is not None:
        lines = _lines(ctx)
        items = [e for e in items if _selects(chosen, e, lines)][:limit]
    base = str(request.base_url).rstrip("/")
    body = _atom(items, base, watchlist, ctx.now)
    return Response(body, media_type="application/atom+xml")


def _watchlist(ctx: WebContext, name: str) -> Any:
    with session_scope(ctx.engine) as session:
        found = [w for w in watchlists(ctx.config, session) if w.name == name]
    if not found:
        raise HTTPException(404, f"no watchlist named {name!r}")
    return found[0]


def _lines(ctx: WebContext) -> dict[tuple[str, int], str | None]:
    with session_scope(ctx.engine) as session:
        return {(b.product, b.build): b.line for b in list_builds(session)}


def _selects(watchlist: Any, event: dict[str, Any], lines: dict[tuple[str, int], str | None]) -> bool:
    line = lines.get((event["product"] or "", event["build"] or 0))
    return bool(watchlist.selects_event(EventKind(event["kind"]), event["product"], line))


def _atom(items: list[dict[str, Any]], base: str, watchlist: str | None, now: datetime) -> bytes:
    from feedgen.feed import FeedGenerator  # lazy: only a feed reader's request loads it

    feed = FeedGenerator()
    suffix = f"?watchlist={watchlist}" if watchlist else ""
    feed.id(f"{base}/feeds/events.atom{suffix}")
    feed.title("Release Tracker events" + (f": {watchlist}" if watchlist else ""))
    feed.link(href=f"{base}/events", rel="alternate")
    feed.link(href=f"{base}/feeds/events.atom{suffix}", rel="self")
    feed.updated(_moment(items[0]["observed_at"]) if items else now)
    for item in reversed(items):  # feedgen puts the last added first
        entry = feed.add_entry()
        entry.id(f"{base}/events/{item['id']}")
        entry.title(f"{item['kind'].upper()}: {item['release'] or item['detail'][:80]}")
        link = f"{base}/builds/{item['product']}/{item['build']}" if item["product"] and item["build"] else base
        entry.link(href=link)
        entry.updated(_moment(item["observed_at"]))
        evidence = "; ".join(f"{e['source']}: {e['url']}" for e in item["evidence"])
        entry.summary(item["detail"] + (f" (evidence: {evidence})" if evidence else ""))
        entry.category(term=item["kind"])
    return bytes(feed.atom_str(pretty=True))


def _moment(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


@router.get("/calendar.ics")
def calendar_ics(ctx: Ctx) -> Response:
    """Lifecycle dates of every line, and snooze expiries: all-day events with stable UIDs."""

    events: list[tuple[str, date, str, str]] = []
    for life in lifecycles():
        label = f"{product_info(life.product).label} {life.line}"
        events.append((f"eogs-{life.product.value}-{life.line}", life.end_of_general_support,
                       f"{label}: end of general support", "The vendor's general support ends."))  # fmt: skip
        events.append((f"eotg-{life.product.value}-{life.line}", life.end_of_technical_guidance,
                       f"{label}: end of technical guidance", "The vendor's technical guidance ends."))  # fmt: skip
    for snooze in reads.snoozes(ctx):
        if snooze["state"] == "standing":
            until = _moment(snooze["until"]).astimezone(ZoneInfo(ctx.config.timezone)).date()  # the day people gave
            what = f"{snooze['kind']} {snooze['target']}"
            events.append((f"snooze-{snooze['id']}", until, f"Snooze ends: {what}", snooze["reason"]))
    return Response(_ics(events, ctx.now), media_type="text/calendar")


def _ics(events: list[tuple[str, date, str, str]], now: datetime) -> bytes:
    from icalendar import Calendar, Event  # lazy: only a calendar's request loads it

    calendar = Calendar()
    calendar.add("prodid", "-//Release Tracker//lifecycle and snoozes//EN")
    calendar.add("version", "2.0")
    calendar.add("x-wr-calname", "Release Tracker")
    stamp = now.astimezone(UTC)
    for uid, day, summary, description in events:
        event = Event()
        event.add("uid", f"{uid}@release-tracker")
        event.add("dtstamp", stamp)
        event.add("dtstart", day)
        event.add("dtend", day + timedelta(days=1))
        event.add("summary", summary)
        event.add("description", description)
        calendar.add_component(event)
    return bytes(calendar.to_ical())


__all__ = ["iso", "router"]
