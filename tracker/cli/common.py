"""What every command shares: the global options' state, and the config, clock and database, each of which
exits with one message (code 2 for a bad config or option, 1 when the database cannot be opened)."""

import os
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer

from tracker.escape import visible

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from tracker.config import Config
    from tracker.filters import Filter

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON (stable keys) instead of a table.")]


class _State:
    config_path: str | None = None
    now: str | None = None


STATE = _State()  # set by the app's callback from --config and --now


def fail(message: str, code: int) -> NoReturn:
    """One message, each line with what it quotes (a file name, a vendor's text) shown visibly (tracker/escape.py)."""
    typer.echo("tracker: " + "\n".join(visible(line) for line in message.split("\n")), err=True)
    raise typer.Exit(code)


def get_config(channels: bool = False, uses: tuple[str, ...] = ()) -> "Config":
    """The config, or exit 2 with one message. `uses`: the keys (`sources`, `channels.team-mail`, `vcenters.vc01`)
    whose ${VAR}s this command needs: every one unset is named at once; others may stay unset. `channels`: also
    check that every channel's apprise URLs load (start-up of the commands that send)."""
    from tracker.config import ConfigError, load_config  # lazy: pydantic and YAML, which --help does not need

    try:
        config = load_config(STATE.config_path)
        config.require(*uses)
    except ConfigError as error:
        fail(str(error), 2)
    if channels:
        check_channels(config)
    return config


def check_channels(config: "Config", only: tuple[str, ...] = ()) -> None:
    """Exit 2 naming every apprise URL that cannot load, of `only` these channels or all. A channel whose ${VAR}
    is unset is not checked here: its deliveries fail with that reason, and the others go on."""
    if not config.channels:
        return
    # lazy: the config's models (pydantic) and notify (apprise), which --help and a quiet poll must not load
    from tracker.config import config_path
    from tracker.notify.channels import privacy, validate

    problems = []
    for name, channel in config.channels.items():
        if (only and name not in only) or config.unset(f"channels.{name}"):
            continue
        for index, url in enumerate(channel.urls):
            reason = validate(url, config.secrets)
            if reason:
                shown = privacy(url, config.secrets)
                problems.append(f"{config_path(STATE.config_path)}: channels.{name}.urls[{index}] ({shown}): {reason}")
    if problems:
        fail("\n".join(problems), 2)


def check_now() -> None:
    """Exit 2 at once on a bad --now (or TRACKER_NOW); the config module loads only when one is given."""
    if STATE.now or os.environ.get("TRACKER_NOW"):
        get_now()


def checked_filters(listing: "Mapping[str, Filter]", given: dict[str, Any], config: "Config") -> dict[str, Any]:
    """The command's filter options parsed through their one definition (tracker/filters.py), or exit 2 naming
    every refused value as `--field: message` (the words the API and the pages use)."""
    from tracker.filters import FilterRefused, check  # lazy: the domain's vocabularies, which --help does not need

    try:
        return check(listing, given, config.timezone)
    except FilterRefused as refused:
        fail("\n".join(f"--{p.field.replace('_', '-')}: {p.message}" for p in refused.problems), 2)


def get_now() -> datetime:
    from tracker.config import ConfigError, clock  # lazy: see get_config

    try:
        return clock(STATE.now)
    except ConfigError as error:
        fail(str(error), 2)


def open_engine(config: "Config") -> "Engine":
    """The database, created or migrated; exit 1 when it cannot be opened."""
    from sqlalchemy.exc import SQLAlchemyError  # lazy: SQLAlchemy, which --help and a quiet poll must not load

    from tracker.store.db import make_engine, migrate
    from tracker.workers import describe

    try:
        engine = make_engine(config.database)
        migrate(engine)
    except (SQLAlchemyError, OSError) as error:
        fail(f"cannot open the database {safe_url(config.database)}: {describe(error)}{_hint(config.database)}", 1)
    return engine


def _hint(url: str) -> str:
    """What a SQLite path that cannot be opened usually means."""
    path = Path(url.removeprefix("sqlite:///")) if url.startswith("sqlite:///") else None
    if path is not None and path.is_dir():
        return f" ({path} is a directory: expected a file path such as {path / 'tracker.db'})"
    return ""


def safe_url(url: str) -> str:
    """The URL as the user wrote it, its password hidden (a user name is kept: it says which account)."""
    from sqlalchemy.engine import make_url  # lazy: see open_engine

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # an unparseable URL: show only its scheme
        return url.split(":", 1)[0] + ":..."
