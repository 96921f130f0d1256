"""The `tracker` command line. Thin: parse options, call a use case, print a table or JSON.

This module holds the Typer app and its global options, and adds each area's commands to it; the command
modules never import it back (tests/test_architecture.py checks that tracker/cli/ has no import cycle):

    common.py                    shared by the commands: --config/--now state, the config, the clock, the database
    poll.py                      init, poll, events, builds, sources
    health.py                    health (exit 3 when degraded: for monitoring and the Docker HEALTHCHECK)
    inventory.py                 exposure; inventory import | sync-vcenter | list
    service.py                   run, demo
    alerts.py                    digest; notify test, watch, snooze, deliveries
    config_cmd.py                config schema | check (the config's JSON Schema; a check that opens no database)
    output.py                    JSON and rich helpers shared by the views
    views.py, views_inventory.py, views_notify.py   what the commands print

Exit codes: 0 the command ran (a poll whose sources failed still ran: see `tracker health`), 1 it could not
run at all, 2 a bad config or bad option, 3 `tracker health` found the tracker degraded. Heavy modules are
imported inside commands: `tracker --help` stays fast.
"""

import signal
import sys
from typing import Annotated

import typer
from typer.core import TyperArgument, TyperOption

from tracker import build_info
from tracker.cli import alerts, config_cmd, health, inventory, poll, service
from tracker.cli.common import STATE, check_now


def _help_placeholder(param: TyperOption | TyperArgument, ctx: object) -> str | None:
    """What `--help` shows beside a parameter: an option's metavar (PATH, TIME, CHANNEL; its name in capitals
    when it sets none), nothing beside a flag or an argument (an argument's name is its placeholder). Typer's own
    shows the Python type (`<str>`, `<bool>`, `<int>`), which tells a reader nothing; tests/test_wording.py walks
    every command's help."""
    if not isinstance(param, TyperOption) or param.is_flag or param.count:
        return None
    return param.metavar or (param.name or "value").upper()


# Every command's help, --help itself included, in one place:
TyperOption.display_type_rich = _help_placeholder  # type: ignore[method-assign,assignment]
TyperArgument.display_type_rich = _help_placeholder  # type: ignore[method-assign,assignment]

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

# The top-level commands (an app added without a name lends its commands), then the groups: `tracker --help`
# lists them in this order.
app.add_typer(poll.commands)
app.add_typer(health.commands)
app.add_typer(inventory.commands)
app.add_typer(service.commands)
app.add_typer(alerts.commands)
app.add_typer(inventory.inventory_app, name="inventory")
app.add_typer(alerts.watch_app, name="watch")
app.add_typer(alerts.snooze_app, name="snooze")
app.add_typer(alerts.deliveries_app, name="deliveries")
app.add_typer(alerts.notify_app, name="notify")
app.add_typer(config_cmd.config_app, name="config")


def _version(wanted: bool) -> None:
    if wanted:
        info = build_info()
        typer.echo(f"release-tracker {info['version']} (database schema {info['schema']})")
        raise typer.Exit()


@app.callback()
def _global(
    config: Annotated[
        str | None,
        typer.Option(
            "--config", "-c", metavar="PATH", help="Config file (env TRACKER_CONFIG; default config/tracker.yaml)."
        ),
    ] = None,
    now: Annotated[
        str | None,
        typer.Option(
            "--now", metavar="TIME", help="Fix the clock (ISO-8601, e.g. 2021-11-19T08:00:00Z; env TRACKER_NOW)."
        ),
    ] = None,
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Print the version and the database schema, and exit."
        ),
    ] = False,
) -> None:
    STATE.config_path, STATE.now = config, now
    check_now()  # every command, not only those that read the clock: a bad --now is a mistake either way


_GLOBAL_OPTIONS = ("--config", "-c", "--now")


def hoist_globals(args: list[str]) -> list[str]:
    """The global options moved before the command, wherever they were written: `tracker init --config X` is
    `tracker --config X init` (no command has an option of the same name)."""
    hoisted: list[str] = []
    rest: list[str] = []
    index = 0
    while index < len(args):
        arg = args[index]
        if arg == "--":
            rest += args[index:]
            break
        name = arg.split("=", 1)[0]
        if name in _GLOBAL_OPTIONS and "=" in arg:
            hoisted.append(arg)
        elif arg in _GLOBAL_OPTIONS and index + 1 < len(args):
            hoisted += args[index : index + 2]
            index += 1
        else:
            rest.append(arg)
        index += 1
    return hoisted + rest


def main() -> None:
    # SIGTERM ends a command the way Ctrl-C does, through its `finally` blocks (a poll closes its parser processes);
    # `tracker run` and `tracker serve` install their own handlers.
    signal.signal(signal.SIGTERM, _terminated)
    app(args=hoist_globals(sys.argv[1:]), prog_name="tracker")


def _terminated(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)


__all__ = ["app", "main"]
