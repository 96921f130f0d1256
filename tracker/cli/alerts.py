"""The alert commands: digest; notify test, watch, snooze, deliveries. Thin, like the other commands."""

from typing import Annotated

import typer

from tracker.cli.common import JsonOpt, check_channels, checked_filters, fail, get_config, get_now, open_engine
from tracker.domain.clock import human
from tracker.escape import visible

commands = typer.Typer()  # added to the app without a name: its commands are top-level
watch_app = typer.Typer(help="Watchlists: who hears about what, on which channels.", no_args_is_help=True)
snooze_app = typer.Typer(help="Snooze a finding until a date, with a reason.", no_args_is_help=True)
deliveries_app = typer.Typer(
    help="The outbox: what was sent, what waits for a retry, what failed.", invoke_without_command=True
)
notify_app = typer.Typer(help="Check the alert channels.", no_args_is_help=True)


@notify_app.command("test")
def notify_test(
    channel: Annotated[str, typer.Argument(help="A channel named under `channels:` in the config.")],
    as_json: JsonOpt = False,
) -> None:
    """Send a test message to every target of a channel and report, per target, what happened."""
    # lazy: apprise, which --help must not load
    from tracker.cli.views_notify import notify_test_view
    from tracker.notify.channels import Outgoing, deliver

    config = get_config(uses=(f"channels.{channel}",))  # this channel's secrets only: the others may be unset
    if channel not in config.channels:
        fail(f"no channel named {channel!r} under channels: (known: {', '.join(sorted(config.channels)) or 'none'})", 2)
    check_channels(config, only=(channel,))
    title = "[Release Tracker] test message"
    body = f"This is a test of the channel '{channel}', sent at {human(get_now(), config.timezone)}."
    message, deadline = Outgoing(title, body, "text"), config.delivery.deadline
    outcomes = [deliver(url, message, config.secrets, deadline) for url in config.channels[channel].urls]
    notify_test_view(channel, outcomes, as_json)
    if not all(o.ok for o in outcomes):
        raise typer.Exit(1)


# --- watchlists -------------------------------------------------------------------------------------------------
@watch_app.command("add")
def watch_add(
    name: Annotated[str, typer.Argument(help="A short name, e.g. prod-esxi.")],
    owner: Annotated[str, typer.Option(metavar="NAME", help="Who owns it.")] = "",
    product: Annotated[list[str] | None, typer.Option(help="esxi or vcenter (repeatable).")] = None,
    line: Annotated[list[str] | None, typer.Option(help="A release line such as 7.0 (repeatable).")] = None,
    vcenter: Annotated[list[str] | None, typer.Option(metavar="GLOB", help="vCenter glob (repeatable).")] = None,
    cluster: Annotated[list[str] | None, typer.Option(metavar="GLOB", help="Cluster glob (repeatable).")] = None,
    tag: Annotated[list[str] | None, typer.Option(metavar="GLOB", help="Tag glob (repeatable).")] = None,
    event: Annotated[
        list[str] | None, typer.Option(metavar="KIND", help="Event kind: pulled, reissued ... (repeatable).")
    ] = None,
    min_severity: Annotated[
        str, typer.Option(metavar="SEVERITY", help="none, low, moderate, important or critical.")
    ] = "none",
    immediate: Annotated[
        list[str] | None, typer.Option(metavar="CHANNEL", help="Channel for immediate alerts (repeatable).")
    ] = None,
    digest: Annotated[
        list[str] | None, typer.Option(metavar="CHANNEL", help="Channel for the digest (repeatable).")
    ] = None,
) -> None:
    """Add a watchlist (stored in the database, beside the config's)."""
    # lazy: the ORM and pydantic, which --help must not load
    from tracker.jobs.alerts import Refused, add_watchlist

    config = get_config()
    spec = {
        "name": name,
        "owner": owner,
        "products": product or [],
        "lines": line or [],
        "vcenters": vcenter or [],
        "clusters": cluster or [],
        "tags": tag or [],
        "events": event or [],
        "min_severity": min_severity,
        "immediate": immediate or [],
        "digest": digest or [],
    }
    try:
        add_watchlist(config, open_engine(config), spec, get_now())
    except Refused as error:
        fail("; ".join(_watch_problem(name, field, message) for field, message in error.problems), 2)
    typer.echo(f"watchlist {name} added")


def _watch_problem(name: str, field: str, message: str) -> str:
    if field == "name" and "exists already" in message:
        return f"{message} (tracker watch remove {name} first)"
    return message if field in ("name", "channels") else f"--{field}: {message}"


@watch_app.command("list")
def watch_list(as_json: JsonOpt = False) -> None:
    """List the watchlists: from the config and added with `tracker watch add`."""
    # lazy: the ORM (and rich, in the views), which --help must not load
    from tracker.cli.views_notify import watchlists_view
    from tracker.notify.pipeline import watchlists
    from tracker.store.db import session_scope

    config = get_config()
    with session_scope(open_engine(config)) as session:
        found = watchlists(config, session)
    configured = {w.name for w in config.watchlists}
    watchlists_view(found, configured, as_json)


@watch_app.command("show")
def watch_show(name: str, as_json: JsonOpt = False) -> None:
    """Show one watchlist and the assets it selects."""
    # lazy: the ORM (and rich, in the views), which --help must not load
    from tracker.cli.views_notify import watchlist_detail_view
    from tracker.notify.pipeline import watchlists
    from tracker.store.assets import load_assets
    from tracker.store.db import session_scope

    config = get_config()
    with session_scope(open_engine(config)) as session:
        found = [w for w in watchlists(config, session) if w.name == name]
        assets = load_assets(session)
    if not found:
        fail(f"no watchlist named {name!r}", 2)
    watchlist_detail_view(found[0], [a for a in assets if found[0].selects_asset(a)], as_json)


@watch_app.command("remove")
def watch_remove(name: str) -> None:
    """Remove a watchlist added with `tracker watch add` (the config's are edited in the config)."""
    # lazy: the ORM, which --help must not load
    from tracker.store import watchlists as stored_watchlists
    from tracker.store.db import session_scope

    config = get_config()
    if any(w.name == name for w in config.watchlists):
        fail(f"{name!r} is defined in the config: remove it there", 2)
    with session_scope(open_engine(config)) as session:
        if not stored_watchlists.remove(session, name):
            fail(f"no watchlist named {name!r}", 2)
    typer.echo(f"watchlist {name} removed")


# --- snoozes ----------------------------------------------------------------------------------------------------
@snooze_app.command("add")
def snooze_add(
    until: Annotated[str, typer.Option("--until", metavar="DATE", help="Snoozed until this date (ISO-8601).")],
    reason: Annotated[str, typer.Option("--reason", metavar="TEXT", help="Why (shown in the digest).")],
    asset: Annotated[str | None, typer.Option("--asset", metavar="NAME", help="An asset's name.")] = None,
    build: Annotated[int | None, typer.Option("--build", metavar="NUMBER", help="A build number.")] = None,
    advisory: Annotated[
        str | None, typer.Option("--advisory", metavar="ID", help="An advisory id, e.g. VMSA-2022-0004.")
    ] = None,
) -> None:
    """Keep a finding out of immediate alerts until a date; it shows in the digest as snoozed, and reopens when it
    expires or when the finding materially changes (its target is pulled, its advisory revised)."""
    # lazy: pydantic and the jobs (the ORM), which --help must not load
    from tracker.domain.alerts import SnoozeKind
    from tracker.jobs.alerts import Refused, plan_snooze, snooze

    now = get_now()
    config = get_config()
    try:
        number = None if build is None else str(build)
        targets: dict[str, str | None] = {
            SnoozeKind.ASSET: asset,
            SnoozeKind.BUILD: number,
            SnoozeKind.ADVISORY: advisory,
        }
        wanted = plan_snooze(targets, until, reason, now, config.timezone)
    except Refused as error:
        fail(_snooze_problem(*error.problems[0]), 2)
    snooze_id = snooze(config, open_engine(config), wanted, now)
    shown = f"{wanted.kind} {visible(wanted.target)} until {human(wanted.until, config.timezone)}"
    shown += f" ({visible(wanted.reason)})"
    typer.echo(f"snooze {snooze_id}: {shown}")


def _snooze_problem(field: str, message: str) -> str:
    return "give exactly one of --asset, --build or --advisory" if field == "target" else f"--{field}: {message}"


@snooze_app.command("list")
def snooze_list(as_json: JsonOpt = False) -> None:
    """List the snoozes, standing and ended."""
    # lazy: the ORM (and rich, in the views), which --help must not load
    from tracker.cli.views_notify import snoozes_view
    from tracker.store import snoozes
    from tracker.store.db import session_scope

    config = get_config()
    with session_scope(open_engine(config)) as session:
        rows = snoozes.every(session)
    snoozes_view(rows, get_now(), as_json, config.timezone)


@snooze_app.command("remove")
def snooze_remove(
    snooze_id: Annotated[int, typer.Argument(metavar="ID", help="The snooze's id (tracker snooze list).")],
) -> None:
    """End a snooze now."""
    # lazy: the ORM, which --help must not load
    from tracker.store import snoozes
    from tracker.store.db import session_scope

    config = get_config()
    with session_scope(open_engine(config)) as session:
        if not snoozes.end(session, snooze_id, "removed", get_now()):
            fail(f"no standing snooze {snooze_id}", 2)
    typer.echo(f"snooze {snooze_id} removed")


# --- deliveries and the digest ------------------------------------------------------------------------------------
@deliveries_app.callback()
def deliveries_list(
    ctx: typer.Context,
    status: Annotated[str | None, typer.Option("--status", help="pending, sending, sent or failed.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """List the outbox with each target's outcome."""
    if ctx.invoked_subcommand is not None:
        return
    # lazy: the ORM (and rich, in the views), which --help must not load
    from tracker.cli.views_notify import deliveries_view
    from tracker.filters import DELIVERIES
    from tracker.store import OutboxStatus
    from tracker.store.db import session_scope
    from tracker.store.outbox import deliveries

    config = get_config()
    checked_filters(DELIVERIES, {"status": status}, config)
    with session_scope(open_engine(config)) as session:
        rows = deliveries(session, OutboxStatus(status) if status else None)
    deliveries_view(rows, as_json, config.timezone)


@deliveries_app.command("retry")
def deliveries_retry(
    outbox_id: Annotated[int, typer.Argument(metavar="ID", help="The delivery's id (tracker deliveries).")],
) -> None:
    """Queue a failed delivery again now (and try it at once)."""
    # lazy: the outbox (the ORM, apprise), which --help must not load
    from tracker.notify.outbox import work_outbox
    from tracker.store.outbox import retry

    config = get_config(channels=True)
    engine = open_engine(config)
    now = get_now()
    if not retry(engine, outbox_id, now):
        fail(f"no delivery {outbox_id} waiting or failed (see tracker deliveries)", 2)
    report = work_outbox(config, engine, now)
    typer.echo(
        f"delivery {outbox_id} queued again: {report.sent} sent, {report.retrying} waiting, {report.failed} failed"
    )


@commands.command()
def digest(
    preview: Annotated[bool, typer.Option("--preview", help="Print each channel's digest as it stands now.")] = False,
    send: Annotated[bool, typer.Option("--send", help="Send each channel's digest now.")] = False,
) -> None:
    """The daily digest: the period's events, exposure counts, the worst assets, snoozes, source health."""
    # lazy: the jobs (the ORM, Jinja2, apprise), which --help must not load
    from tracker.jobs.delivery import digest_now

    if preview == send:
        fail("give exactly one of --preview or --send", 2)
    config = get_config(channels=send)
    text = digest_now(config, open_engine(config), get_now(), send)
    typer.echo(text)
