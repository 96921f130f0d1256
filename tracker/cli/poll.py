"""The poll cycle and what it recorded: init, poll, events, builds, sources."""

from functools import partial
from typing import TYPE_CHECKING, Annotated

import typer

from tracker.cli.common import (
    JsonOpt,
    check_channels,
    checked_filters,
    fail,
    get_config,
    get_now,
    open_engine,
    safe_url,
)
from tracker.domain.clock import human
from tracker.domain.words import count

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from tracker.config import Config
    from tracker.domain.catalog import Catalog
    from tracker.store.leases import Held
    from tracker.store.records import BuildRecord

commands = typer.Typer()  # added to the app without a name: its commands are top-level
EVERY = 2**62  # `tracker events` lists every event the filters select, not a page


@commands.command()
def init() -> None:
    """Create the database (or bring its schema up to date) and register the configured sources."""
    # lazy: the ORM, which --help must not load
    from tracker.store.db import session_scope
    from tracker.store.sources import sync_sources

    config = get_config()
    engine = open_engine(config)
    with session_scope(engine) as session:
        sync_sources(session, config, get_now())
    typer.echo(f"database ready: {safe_url(config.database)} ({count(len(config.sources), 'source')} configured)")


@commands.command()
def poll(
    source: Annotated[str | None, typer.Option("--source", metavar="ID", help="Poll only this source id.")] = None,
    as_json: JsonOpt = False,
    wait: Annotated[
        float,
        typer.Option(
            "--wait",
            min=0,
            metavar="SECONDS",
            help="Seconds to wait for a poll cycle another process is running (the service's); then exit 1.",
        ),
    ] = 300.0,
) -> None:
    """Run one whole poll cycle now: fetch every source, follow release-notes links, record events. One cycle runs
    at a time: beside a running one, this waits (--wait), then says which process holds it."""
    # lazy: pydantic; the cycle, the views and the ORM come below, each only once it is needed
    from tracker.config import ConfigError

    config = get_config()  # channels are checked when there is something to deliver: apprise costs a quiet cycle 0.2 s
    try:
        if source is not None:
            config.source(source)
        index = [s.id for s in config.sources].index(source) if source is not None else None
        config.require("sources" if index is None else f"sources[{index}]")  # the pages it fetches, no more
    except ConfigError as error:
        fail(str(error), 2)
    now = get_now()
    from tracker.cli.progress import cycle_progress  # lazy: the progress line, only for a poll
    from tracker.cycle import Request  # lazy: the cycle (httpx, the sources), which --help must not load
    from tracker.jobs import poll as use_case  # lazy: as above

    after = use_case.AfterPoll(wait=wait, outbox=use_case.Outbox.IF_DUE)
    with cycle_progress(as_json) as progress:
        hear = use_case.Listeners(progress, partial(_waiting, zone=config.timezone), lambda: check_channels(config))
        result = use_case.poll(config, _Lazy(config), Request(now, only=source), after, hear)
    if result.lease_lost is not None:
        fail(result.lease_lost, 1)
    if result.blocked_by is not None:
        held = _held(result.blocked_by, config.timezone)
        fail(f"another poll cycle is still running ({held}); nothing was polled", 1)
    from tracker.cli.views import poll_summary  # lazy: rich, only for a cycle with something to show

    assert result.report is not None  # the lease was not lost
    poll_summary(result.report, as_json)


class _Lazy:
    """The database, opened (and migrated) on first use: a cycle of unchanged pages never needs SQLAlchemy."""

    def __init__(self, config: "Config") -> None:
        self.config = config
        self.engine: Engine | None = None

    def __call__(self) -> "Engine":
        if self.engine is None:
            self.engine = open_engine(self.config)
        return self.engine


def _waiting(held: "Held", zone: str) -> None:
    typer.echo(f"tracker: waiting for another poll cycle to finish ({_held(held, zone)}) ...", err=True)


def _held(held: "Held", zone: str) -> str:
    since = f", since {human(held.acquired_at, zone)}" if held.acquired_at else ""
    return f"held by {held.holder}{since}"


@commands.command()
def events(
    since: Annotated[
        str | None, typer.Option("--since", metavar="TIME", help="Only events observed at or after this time.")
    ] = None,
    until: Annotated[
        str | None,
        typer.Option("--until", metavar="TIME", help="Only events observed before this time (a day: up to its end)."),
    ] = None,
    kind: Annotated[
        list[str] | None, typer.Option("--kind", help="Only this kind (repeatable): new, pulled, reissued, ...")
    ] = None,
    product: Annotated[str | None, typer.Option("--product", help="esxi, vcenter, tools or vcf.")] = None,
    line: Annotated[str | None, typer.Option("--line", help="Only events of builds of this line, such as 7.0.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """List the events the tracker recorded, oldest first (every event when no filter is given). The filters are
    the API's and the events page's; a day or a time without an offset is in the configured timezone."""
    # lazy: the ORM (and rich, in the views), which --help must not load
    from tracker.cli.views import events_view
    from tracker.filters import EVENTS
    from tracker.notify.naming import source_namer
    from tracker.store.db import session_scope
    from tracker.store.reads import EventFilter, events_page
    from tracker.store.repo import list_builds, load_catalog

    config = get_config()
    given = {"kind": kind or [], "product": product, "line": line, "since": since, "until": until}
    found = checked_filters(EVENTS, given, config)
    wanted = EventFilter(found["kind"], found["product"], found["line"], found["since"], found["until"])
    engine = open_engine(config)
    with session_scope(engine) as session:
        rows = events_page(session, wanted, None, EVERY)[::-1]
        builds = {(b.product.value, b.build): b for b in list_builds(session)}

    def catalog_of() -> "Catalog":  # only the names of followed release notes need it
        with session_scope(engine) as session:
            return load_catalog(session)

    events_view(rows, builds, as_json, config.timezone, source_namer(config.sources, catalog_of))


@commands.command()
def builds(
    product: Annotated[str | None, typer.Option("--product", help="esxi, vcenter, tools or vcf.")] = None,
    line: Annotated[str | None, typer.Option("--line", help="A release line such as 7.0.")] = None,
    status: Annotated[str | None, typer.Option("--status", help="available or pulled.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """List the build catalog, newest first, with each build's status and how many sources list it; with
    `--product vcf`, each VCF release with its components and the pulled builds it contains."""
    from tracker.filters import BUILDS  # lazy: the vocabularies, which --help must not load

    config = get_config()
    checked_filters(BUILDS, {"product": product, "line": line, "status": status}, config)
    if product == "vcf":
        _vcf_builds(line, as_json)
        return
    # lazy: the views (rich) and the store's standard-library path, which --help must not load
    from tracker.cli.views import builds_view
    from tracker.store.fastpath import listed_builds, sqlite_path

    path = sqlite_path(config.database)
    read = listed_builds(path) if path is not None else None  # a SQLite file at the newest schema: no SQLAlchemy
    rows, listing = read if read is not None else _stored_builds(config)
    rows = [r for r in rows if (product is None or r.product == product) and (line is None or r.line == line)]
    rows = [r for r in rows if status is None or r.status == status]
    builds_view(rows, listing, as_json)


def _stored_builds(config: "Config") -> tuple[list["BuildRecord"], dict[tuple[str, int], list[str]]]:
    """The builds through the ORM: another database than a SQLite file, or one to create or migrate first."""
    # lazy: the ORM, which --help and a listing of a SQLite file at the newest schema never load
    from tracker.listings import listed_by
    from tracker.store.db import session_scope
    from tracker.store.repo import list_builds, load_catalog

    with session_scope(open_engine(config)) as session:
        return list_builds(session), listed_by(load_catalog(session))


def _vcf_builds(line: str | None, as_json: bool) -> None:
    # lazy: the ORM (and rich, in the views), which --help must not load
    from tracker.cli.views_vcf import vcf_releases_view
    from tracker.domain.bom import view_release
    from tracker.store.db import session_scope
    from tracker.store.repo import load_catalog
    from tracker.store.vcf_releases import load_vcf_releases

    with session_scope(open_engine(get_config())) as session:
        releases = load_vcf_releases(session)
        catalog = load_catalog(session)
    releases = [r for r in releases if line is None or r.version.startswith(f"{line}.")]
    vcf_releases_view([view_release(r, catalog) for r in releases], as_json)


@commands.command()
def sources(
    show_all: Annotated[bool, typer.Option("--all", help="Also list release notes followed from KB rows.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Source health: state, last success, last error, rows seen, next poll; followed release notes by tier."""
    # lazy: the ORM (and rich, in the views), which --help must not load
    from tracker.cli.views import sources_view
    from tracker.jobs.sources import gather_sources

    config = get_config()
    listing = gather_sources(config, open_engine(config), get_now())
    sources_view(listing, show_all, as_json, config.timezone)
