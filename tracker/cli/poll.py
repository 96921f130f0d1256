"""The `tracker` command line. Thin: parse options, call a use case, print a table or JSON.

Exit codes: 0 the command ran (a poll whose sources failed still ran: see `tracker sources`), 1 it could not
run at all, 2 a bad config or bad option. Heavy modules are imported inside commands: `tracker --help` stays fast.
"""

import sys
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from tracker.config import Config
    from tracker.store.leases import Held

app = typer.Typer(
    name="tracker",
    help=(
        "Release Tracker watches VMware ESXi and vCenter releases: it polls the vendor's build tables and release "
        "notes, keeps a catalog of builds with evidence, and tells you when a build is new, pulled, reissued or "
        "restored."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON (stable keys) instead of a table.")]


class _State:
    config_path: str | None = None
    now: str | None = None


STATE = _State()


@app.callback()
def _global(
    config: Annotated[
        str | None,
        typer.Option("--config", "-c", help="Config file (env TRACKER_CONFIG; default config/tracker.yaml)."),
    ] = None,
    now: Annotated[
        str | None,
        typer.Option("--now", help="Fix the clock (ISO-8601, e.g. 2021-11-19T08:00:00Z; env TRACKER_NOW)."),
    ] = None,
) -> None:
    STATE.config_path, STATE.now = config, now


def _fail(message: str, code: int) -> NoReturn:
    typer.echo(f"tracker: {message}", err=True)
    raise typer.Exit(code)


def _config(channels: bool = False) -> "Config":
    """The config, or exit 2 with one message. `channels`: also check every apprise URL loads (start-up of the
    commands that send)."""
    from tracker.config import ConfigError, load_config

    try:
        config = load_config(STATE.config_path)
    except ConfigError as error:
        _fail(str(error), 2)
    if channels:
        _check_channels(config)
    return config


def _check_channels(config: "Config") -> None:
    if not config.channels:
        return
    from tracker.config import config_path
    from tracker.notify.channels import privacy, validate

    problems = []
    for name, channel in config.channels.items():
        for index, url in enumerate(channel.urls):
            reason = validate(url, config.secrets)
            if reason:
                shown = privacy(url, config.secrets)
                problems.append(f"{config_path(STATE.config_path)}: channels.{name}.urls[{index}] ({shown}): {reason}")
    if problems:
        _fail("\n".join(problems), 2)


def _now() -> datetime:
    from tracker.config import ConfigError, clock

    try:
        return clock(STATE.now)
    except ConfigError as error:
        _fail(str(error), 2)


def _engine(config: "Config") -> "Engine":
    from sqlalchemy.exc import SQLAlchemyError

    from tracker.store.db import make_engine, migrate

    try:
        engine = make_engine(config.database)
        migrate(engine)
    except (SQLAlchemyError, OSError) as error:
        _fail(f"cannot open the database {_safe_url(config.database)}: {type(error).__name__}: {error}", 1)
    return engine


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # an unparseable URL: show only its scheme
        return url.split(":", 1)[0] + ":..."


# --- commands --------------------------------------------------------------------------------------------------
@app.command()
def init() -> None:
    """Create the database (or bring its schema up to date) and register the configured sources."""
    from tracker.store.db import session_scope
    from tracker.store.sources import sync_sources

    config = _config()
    engine = _engine(config)
    with session_scope(engine) as session:
        sync_sources(session, config, _now())
    typer.echo(f"database ready: {_safe_url(config.database)} ({len(config.sources)} sources configured)")


@app.command()
def poll(
    source: Annotated[str | None, typer.Option("--source", help="Poll only this source id.")] = None,
    as_json: JsonOpt = False,
    wait: Annotated[
        float,
        typer.Option(
            "--wait",
            min=0,
            help="Seconds to wait for a poll cycle another process is running (the service's); then exit 1.",
        ),
    ] = 300.0,
) -> None:
    """Run one whole poll cycle now: fetch every source, follow release-notes links, record events. One cycle runs
    at a time: beside a running one, this waits (--wait), then says which process holds it."""
    from tracker.config import ConfigError

    config = _config()  # channels are checked when there is something to deliver: apprise costs a quiet cycle 0.2 s
    if source is not None:
        try:
            config.source(source)
        except ConfigError as error:
            _fail(str(error), 2)
    now = _now()
    engine = _Lazy(config)
    from tracker.cycle import Hooks, Request, run_cycle
    from tracker.store import LeaseLost

    try:
        with _progress(as_json) as progress:
            report = run_cycle(config, engine, Request(now, only=source), Hooks(progress, _waiting, wait))
    except LeaseLost as error:
        _fail(str(error), 1)
    if report.blocked_by is not None:
        _fail(f"another poll cycle is still running ({_held(report.blocked_by)}); nothing was polled", 1)
    from tracker.views import poll_summary

    poll_summary(report, as_json)
    from tracker.store.fastpath import outbox_idle

    if config.channels and not outbox_idle(config.database, now):  # the outbox claims each message itself
        from tracker.jobs import outbox_tick

        _check_channels(config)
        outbox_tick(config, engine(), now)


class _Lazy:
    """The database, opened (and migrated) on first use: a cycle of unchanged pages never needs SQLAlchemy."""

    def __init__(self, config: "Config") -> None:
        self.config = config
        self.engine: Engine | None = None

    def __call__(self) -> "Engine":
        if self.engine is None:
            self.engine = _engine(self.config)
        return self.engine


def _waiting(held: "Held") -> None:
    typer.echo(f"tracker: waiting for another poll cycle to finish ({_held(held)}) ...", err=True)


def _held(held: "Held") -> str:
    since = f", since {held.acquired_at:%Y-%m-%d %H:%M:%S} UTC" if held.acquired_at else ""
    return f"held by {held.holder}{since}"


def _progress(quiet: bool) -> Any:
    from tracker.views import Progress

    return Progress(enabled=not quiet and sys.stderr.isatty())


@app.command()
def events(
    since: Annotated[str | None, typer.Option("--since", help="Only events observed at or after this time.")] = None,
    kind: Annotated[
        list[str] | None, typer.Option("--kind", help="Only this kind (repeatable): new, pulled, reissued, ...")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """List the events the tracker recorded (every event when --since is not given)."""
    from tracker.config import ConfigError, clock
    from tracker.domain.events import EventKind
    from tracker.store.db import session_scope
    from tracker.store.repo import list_builds, list_events
    from tracker.views import events_view

    try:
        since_at = clock(since) if since else None
    except ConfigError:
        _fail(f"--since: expected an ISO-8601 time such as 2021-11-01 or 2021-11-19T08:00:00Z, got {since!r}", 2)
    kinds = []
    for name in kind or []:
        try:
            kinds.append(EventKind(name))
        except ValueError:
            _fail(f"--kind: unknown kind {name!r} (expected one of {', '.join(k.value for k in EventKind)})", 2)
    engine = _engine(_config())
    with session_scope(engine) as session:
        rows = list_events(session, since_at, kinds)
        builds = {(b.product, b.build): b for b in list_builds(session)}
    events_view(rows, builds, as_json)


@app.command()
def builds(
    product: Annotated[str | None, typer.Option("--product", help="esxi or vcenter.")] = None,
    line: Annotated[str | None, typer.Option("--line", help="A release line such as 7.0.")] = None,
    status: Annotated[str | None, typer.Option("--status", help="available or pulled.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """List the build catalog, newest first, with each build's status and how many sources list it."""
    from tracker.store.db import session_scope
    from tracker.store.repo import list_builds, load_catalog
    from tracker.views import builds_view

    engine = _engine(_config())
    with session_scope(engine) as session:
        rows = list_builds(session)
        catalog = load_catalog(session)
    rows = [r for r in rows if (product is None or r.product == product) and (line is None or r.line == line)]
    rows = [r for r in rows if status is None or r.status == status]
    builds_view(rows, catalog, as_json)


@app.command()
def sources(
    show_all: Annotated[bool, typer.Option("--all", help="Also list release notes followed from KB rows.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Source health: state, last success, last error, rows seen, next poll; followed release notes by tier."""
    from tracker.cycle.plan import schedules
    from tracker.store import POLL_LEASE, leases
    from tracker.store.db import session_scope
    from tracker.store.sources import snapshot, source_rows
    from tracker.views import sources_view

    config = _config()
    engine = _engine(config)
    with session_scope(engine) as session:  # read only: a source new in the config is shown, not stored
        rows, stored = source_rows(session), snapshot(session)
    held = leases.current(engine, POLL_LEASE)
    unsynced = [(s.id, s.kind, s.product) for s in config.sources if s.id not in stored.sources]
    planned = schedules(config, stored, _now())
    sources_view(rows, planned, unsynced, show_all, as_json, _held(held) if held else None)


# --- inventory and exposure ------------------------------------------------------------------------------------
inventory_app = typer.Typer(
    help="The hosts and vCenters you run: import them (CSV, RVTools, YAML/JSON, live vCenter) and list them.",
    no_args_is_help=True,
)
app.add_typer(inventory_app, name="inventory")


@inventory_app.command("import")
def inventory_import(
    paths: Annotated[list[str] | None, typer.Argument(help="Files to import (default: inventory.files).")] = None,
    fmt: Annotated[str, typer.Option("--format", help="auto, csv, rvtools, yaml or json.")] = "auto",
    replace: Annotated[
        bool, typer.Option("--replace", help="Remove assets of the same vCenters (or file) the import no longer lists.")
    ] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show what would change; write nothing.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Import an inventory file. All or nothing: any bad row aborts it, every problem is listed, nothing is
    written."""
    from pathlib import Path

    from tracker.inventory.files import FORMAT_CHOICES, count_rows, read_inventory
    from tracker.jobs import import_inventory
    from tracker.views import import_view, row_progress

    if fmt not in FORMAT_CHOICES:
        _fail(f"--format: expected one of {', '.join(FORMAT_CHOICES)}, got {fmt!r}", 2)
    config = _config()
    targets = paths or list(config.inventory.files)
    if not targets:
        _fail("no file to import: give a PATH or list files under inventory.files in the config", 2)
    engine = _engine(config)
    for target in targets:
        bar = not as_json and sys.stderr.isatty()
        with row_progress(Path(target).name, count_rows(Path(target), fmt) if bar else None, bar) as progress:
            result = read_inventory(Path(target), fmt, progress)
        if not result.ok:
            for problem in result.problems:
                typer.echo(f"tracker: {problem}", err=True)
            _fail(f"{target}: {len(result.problems)} problem(s); nothing was imported", 1)
        plan = import_inventory(engine, result, str(Path(target).name), _now(), replace, dry_run)
        import_view(target, result, plan, dry_run, as_json)


@inventory_app.command("sync-vcenter")
def inventory_sync_vcenter(
    name: Annotated[str, typer.Argument(help="A vCenter named under `vcenters:` in the config.")],
    replace: Annotated[bool, typer.Option("--replace", help="Remove this vCenter's hosts it no longer has.")] = True,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show what would change; write nothing.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Read the hosts of a vCenter (and the vCenter itself) live through its API, and import them."""
    from tracker.inventory.vcenter import read_vcenter
    from tracker.jobs import import_inventory
    from tracker.views import import_view

    config = _config()
    vcenter = config.vcenters.get(name)
    if vcenter is None:
        known = ", ".join(sorted(config.vcenters)) or "none"
        _fail(f"no vCenter named {name!r} under vcenters: in the config (known: {known})", 2)
    engine = _engine(config)
    result = read_vcenter(
        name,
        host=vcenter.host,
        port=vcenter.port,
        user=vcenter.user,
        password=vcenter.password,
        verify_tls=vcenter.verify_tls,
    )
    if not result.ok:
        for problem in result.problems:
            typer.echo(f"tracker: {problem}", err=True)
        _fail(f"vCenter {name}: nothing was imported", 1)
    plan = import_inventory(engine, result, f"vcenter:{name}", _now(), replace, dry_run)
    import_view(f"vcenter {name}", result, plan, dry_run, as_json)


@inventory_app.command("list")
def inventory_list(as_json: JsonOpt = False) -> None:
    """List the assets: hosts and vCenters with their builds, clusters and VIBs."""
    from tracker.store.assets import load_assets
    from tracker.store.db import session_scope
    from tracker.views import assets_view

    engine = _engine(_config())
    with session_scope(engine) as session:
        assets = load_assets(session)
    assets_view(assets, as_json)


@app.command()
def exposure(
    status: Annotated[
        list[str] | None,
        typer.Option(
            "--status",
            help="Only assets with this status (repeatable): pulled, vulnerable, "
            "end_of_support, end_of_support_soon, behind, unknown_build, ok.",
        ),
    ] = None,
    cluster: Annotated[str | None, typer.Option("--cluster", help="Only clusters matching this glob.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """What the catalog means for each asset, worst first: statuses, severity, reasons and the safe target."""
    from fnmatch import fnmatchcase

    from tracker.domain.exposure import Status
    from tracker.jobs import assess_exposure
    from tracker.views import exposure_view

    wanted = set()
    for name in status or []:
        try:
            wanted.add(Status(name))
        except ValueError:
            _fail(f"--status: unknown status {name!r} (expected one of {', '.join(s.value for s in Status)})", 2)
    config = _config()
    results = assess_exposure(config, _engine(config), _now())
    if wanted:
        results = [r for r in results if wanted & set(r.statuses)]
    if cluster:
        results = [r for r in results if fnmatchcase(r.asset.cluster.casefold(), cluster.casefold())]
    exposure_view(results, as_json)


@app.command()
def run(
    once: Annotated[
        bool,
        typer.Option(
            "--once",
            help="Run one tick and exit: the due sources in one cycle, the outbox, the digests (for cron; with --now,"
            " a source is due when never polled or when its interval has elapsed since its last poll).",
        ),
    ] = False,
) -> None:
    """Run the service: every tick, poll the sources that are due in one cycle, deliver the outbox and send due
    digests, until stopped (SIGTERM finishes the current step)."""
    from datetime import UTC

    config = _config(channels=True)
    engine = _engine(config)
    if once:
        from tracker.jobs import service_tick

        for line in service_tick(config, engine, _now()):
            typer.echo(line, err=True)
        return
    from tracker.scheduler import run_service

    fixed = STATE.now

    def clock() -> datetime:
        return _now() if fixed else datetime.now(UTC)

    run_service(config, engine, clock, lambda line: typer.echo(line, err=True))


@app.command()
def demo() -> None:
    """Replay the ESXi 7.0 U3 story offline (Sept 2021 to Feb 2022) against bundled pages and a sample inventory,
    printing each alert and the final digest as people would read them. Needs no config and no network."""
    from tracker.demo import run_demo

    run_demo(lambda line: typer.echo(line))


def main() -> None:
    app()


from tracker import cli_notify  # noqa: E402, F401  (registers the alert commands on `app`; light to import)

if __name__ == "__main__":
    main()
