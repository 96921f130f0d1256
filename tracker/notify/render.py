"""Alerts and digests as (title, body, body_format), from the Jinja2 templates in templates/.

One template per message and body kind (channels.body_kind picks the kind from the URL), and one escaping
function per kind (tracker/escape.py), applied by Jinja2 to every `{{ value }}` as it enters the template
(`finalize`), so no template can forget one:

    slack   *.md.j2     CommonMark; apprise turns it into Slack mrkdwn (**b** -> *b*, [t](u) -> <u|t>); values
                        through escape.slack: no link, mention or formatting comes from a host name or a page
    email   *.html.j2   HTML, autoescaped (markupsafe, attributes too) over escape.visible; apprise adds the
                        plain-text alternative, converted from the HTML
    text    *.txt.j2    plain text for json://, form://, Teams and any other kind; values through escape.visible

Link targets go through the `href` filter (http(s) only; others are shown as text). Titles are plain text for
every kind, through escape.visible. Counted nouns go through the `count` filter (tracker/domain/words.py): `{{ n |
count("source") }}` is "1 source" or "2 sources", never "source(s)". Times are formatted before they enter a
template, by the one formatter of every face (tracker/domain/clock.py: `2021-11-19 09:00 CET`, in the configured
zone). The environments are built on first use, not at import.
"""

from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from tracker.domain.alerts import AlertMessage, DigestMessage, Reminder
from tracker.domain.clock import human
from tracker.domain.events import EventKind
from tracker.domain.versions import Product
from tracker.domain.words import count
from tracker.escape import Verbatim, href, slack, visible
from tracker.reference import product_info

TEMPLATES = Path(__file__).parent / "templates"
APP = "Release Tracker"
SHOWN_ASSETS = 20
KINDS = {"slack": ("md", "markdown"), "email": ("html", "html"), "text": ("txt", "text")}  # suffix, body_format
_ESCAPES: dict[str, Callable[[object], str]] = {"md": slack, "html": visible, "txt": visible}  # by suffix
_BUILD_KINDS = frozenset({EventKind.NEW, EventKind.PULLED, EventKind.REISSUED, EventKind.RESTORED})


def render_alert(message: AlertMessage, kind: str, zone: str = "UTC") -> tuple[str, str, str]:
    """The immediate alert for one event: (title, body, apprise body_format); its time in `zone` (the config's)."""
    suffix, body_format = _kind(kind)
    groups = cluster_lines(message)
    shown = () if groups else message.assets[:SHOWN_ASSETS]
    title = headline(message)
    detail = _news_beyond(message)
    excerpt = message.evidence_excerpt if message.evidence_excerpt not in (title, message.detail) else ""
    body = _render(
        f"alert.{suffix}.j2",
        m=message,
        headline=title,
        detail=detail,
        excerpt=excerpt,
        health=message.kind.is_source_health,  # the tracker's own: no confidence, no assets, a command to run
        shown=shown,
        groups=groups,
        more=0 if groups else max(message.assets_total - len(shown), 0),
        observed=human(message.observed_at, zone),
    )
    return alert_title(message), body, body_format


def render_digest(digest: DigestMessage, kind: str) -> tuple[str, str, str]:
    """The digest of one channel for one period: (title, body, apprise body_format)."""
    suffix, body_format = _kind(kind)
    zone = digest.timezone
    body = _render(
        f"digest.{suffix}.j2",
        d=digest,
        period=f"{human(digest.period_start, zone)} – {human(digest.period_end, zone)} ({zone})",
        # health first: the tracker cut off from the vendor is the news that makes the rest of it doubtful
        troubled=[h for h in digest.source_health if h.problem],  # the health verdict said so: never re-judged here
        health_events=[(human(e.observed_at, zone), headline(e)) for e in digest.events if e.kind.is_source_health],
        events=[(human(e.observed_at, zone), event_line(e)) for e in digest.events if not e.kind.is_source_health],
    )
    return digest_title(digest), body, body_format


def render_reminder(reminder: Reminder, kind: str, zone: str = "UTC") -> tuple[str, str, str]:
    """A snooze that reopened: (title, body, apprise body_format)."""
    suffix, body_format = _kind(kind)
    body = _render(f"reminder.{suffix}.j2", r=reminder, until=human(reminder.until, zone))
    names = ", ".join(a.name for a in reminder.assets[:3]) + (" ..." if len(reminder.assets) > 3 else "")
    return visible(f"[Release Tracker] REOPENED: snooze of {names}"), body, body_format


def render_notice(notice: dict[str, Any], kind: str, zone: str = "UTC") -> tuple[str, str, str]:
    """The tracker's own health for the operators (jobs.queue_health_notices): (title, body, body_format)."""
    suffix, body_format = _kind(kind)
    body = _render(f"notice.{suffix}.j2", n=notice, since=human(notice.get("since"), zone) or None)
    return visible(f"[{APP}] HEALTH: {notice['subject']}: {notice['reason']}"), body, body_format


def alert_title(message: AlertMessage) -> str:
    """`[Release Tracker] PULLED: ESXi 7.0 U3 (18644231) — 3 of your hosts affected`"""
    return visible(f"[{APP}] {headline(message)} — {affected(message)}")


def digest_title(digest: DigestMessage) -> str:
    events = sum(1 for e in digest.events if not e.kind.is_source_health)
    what = count(events, "event") if events else "nothing happened"
    troubled = sum(1 for h in digest.source_health if h.problem)
    trouble = f"{count(troubled, 'source')} in trouble; " if troubled else ""
    return visible(f"[{APP}] Digest for {digest.channel}: {trouble}{what}")


def headline(message: AlertMessage) -> str:
    """`PULLED: ESXi 7.0 U3 (18644231)`; a source-health event names the source (its detail)."""
    label = message.kind.value.replace("_", " ").upper()
    if message.kind.is_source_health:
        return f"{label}: {message.detail or message.release}".rstrip(": ")
    build = f" ({message.build})" if message.build is not None else ""
    return f"{label}: {message.release}{build}"


def _news_beyond(message: AlertMessage) -> str | None:
    """The event's detail, unless it only says again what the title says ("ESXi 7.0 U3 (18644231) was pulled"
    under "PULLED: ESXi 7.0 U3 (18644231)"). The title is shown once: as the subject, not again in the body. A
    source-health alert keeps its detail, the error, in the body: a subject line is often cut short."""
    detail = message.detail
    if not detail or message.kind.is_source_health:
        return detail or None
    named = f"{message.release} ({message.build})" if message.build is not None else (message.release or "")
    rest = (detail.replace(named, "", 1) if named else detail).strip(" .:").lower()
    verb = message.kind.value
    return None if rest in ("", f"was {verb}", f"is {verb}", "new build", verb) else detail


def affected(message: AlertMessage) -> str:
    noun = asset_noun(message.product)
    if message.assets_total == 0:
        return f"none of your {noun} run it" if message.kind in _BUILD_KINDS else "for your information"
    return f"{message.assets_total} of your {noun} affected"


def cluster_lines(message: AlertMessage) -> list[str]:
    """`12 VMs in cluster prod-a (vc01)`: one line per cluster, for the assets an alert counts by cluster."""
    noun = asset_noun(message.product)
    return [
        f"{c.count} {noun if c.count != 1 else noun.removesuffix('s')} in "
        + (f"cluster {c.cluster}" if c.cluster else "no cluster")
        + (f" ({c.vcenter})" if c.vcenter else "")
        for c in message.clusters
    ]


def asset_noun(product: str | None) -> str:
    """ "hosts", "vCenters", "VMs": the product table's noun for what runs the product; "assets" for no product."""
    known = {p.value for p in Product}
    return product_info(Product(product)).noun if product in known else "assets"


def event_line(message: AlertMessage) -> str:
    """One digest line: `PULLED: ESXi 7.0 U3 (18644231) — 3 of your hosts affected (watchlist prod)`."""
    line = f"{headline(message)} — {affected(message)}"
    return f"{line} (watchlist {message.watchlist})" if message.watchlist else line


def _kind(kind: str) -> tuple[str, str]:
    try:
        return KINDS[kind]
    except KeyError:
        raise ValueError(f"unknown body kind {kind!r}; expected one of {', '.join(KINDS)}") from None


def _render(name: str, **context: Any) -> str:
    suffix = name.split(".")[-2]
    return _environment(suffix).get_template(name).render(**context).strip() + "\n"


def _finalizer(escape: Callable[[object], str]) -> Callable[[object], object]:
    """What Jinja2 does with each `{{ value }}`: the kind's escaping, except for what is already markup (a checked
    link target, HTML that autoescape made)."""

    def finalize(value: object) -> object:
        return value if isinstance(value, Verbatim | Markup) else escape(value)

    return finalize


@cache
def _environment(suffix: str) -> Environment:
    environment = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(enabled_extensions=("html.j2",), default_for_string=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        finalize=_finalizer(_ESCAPES[suffix]),
    )
    environment.filters.update(href=href, count=count)
    return environment
