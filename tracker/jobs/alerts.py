"""Use cases of the alerts admins shape: snoozes and watchlists, refused the same way from the CLI, the API and the
forms."""

from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime

from pydantic import ValidationError
from sqlalchemy import Engine

from tracker.config import Config, WatchlistConfig
from tracker.domain.alerts import SnoozeKind
from tracker.domain.words import noun
from tracker.filters import SINCE, FilterError
from tracker.jobs.inventory import assess_exposure
from tracker.notify.snoozes import advisory_base, fingerprint
from tracker.store import snoozes
from tracker.store import watchlists as stored_watchlists
from tracker.store.advisories import load_advisories
from tracker.store.db import session_scope
from tracker.store.snoozes import NewSnooze


class Refused(ValueError):
    """What a snooze or watchlist asked for cannot be stored: each problem as (field, message)."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        super().__init__("; ".join(f"{f}: {m}" for f, m in problems))
        self.problems = problems


def plan_snooze(targets: dict[str, str | None], until: str, reason: str, now: datetime, zone: str = "UTC") -> NewSnooze:
    """`tracker snooze add` and the web's: exactly one target (asset, build or advisory), `until` a date in the
    future, a reason. Refused naming each field wrong."""

    given = [(k, v) for k, v in targets.items() if v not in (None, "")]
    problems: list[tuple[str, str]] = []
    if len(given) != 1:
        problems.append(("target", f"give exactly one of {', '.join(targets)}"))
    try:  # a day or a time without an offset is in the configured zone, as every filter's (tracker/filters.py)
        until_at: datetime | None = SINCE.parse("until", until, zone)
    except FilterError as error:
        until_at = None
        problems.append(("until", error.message))
    if until_at is None and not str(until or "").strip():
        problems.append(("until", "give the day the snooze ends, such as 2021-12-01"))
    if until_at is not None and until_at <= now:
        problems.append(("until", f"{until} is not in the future"))
    if not reason.strip():
        problems.append(("reason", "say why, so the digest can remind whoever reads it"))
    if problems or until_at is None:
        raise Refused(problems)
    kind, value = given[0]
    return NewSnooze(SnoozeKind(kind), str(value), until_at, reason.strip())


def add_watchlist(config: Config, engine: Engine, spec: Mapping[str, object], now: datetime) -> WatchlistConfig:
    """`tracker watch add` and the web's: checked as the config's watchlists are, its channels known, its name new."""

    try:
        checked = WatchlistConfig.model_validate(spec)
    except ValidationError as error:
        raise Refused([(".".join(map(str, e["loc"])) or "watchlist", e["msg"]) for e in error.errors()]) from None
    unknown = [c for c in (*checked.immediate, *checked.digest) if c not in config.channels]
    if unknown:
        known = ", ".join(sorted(config.channels)) or "none"
        what = f"unknown {noun(len(unknown), 'channel')} {', '.join(unknown)}"
        raise Refused([("channels", f"{what} (channels defined: {known})")])
    name = checked.name
    if any(w.name == name for w in config.watchlists):
        raise Refused([("name", f"a watchlist named {name!r} is defined in the config already")])
    with session_scope(engine) as session:
        if not stored_watchlists.add(session, name, checked.model_dump(mode="json"), now):
            raise Refused([("name", f"a watchlist named {name!r} exists already")])
    return checked


def snooze(config: Config, engine: Engine, wanted: NewSnooze, now: datetime) -> int:
    """Store a snooze with the finding's fingerprint as it is now, so a material change reopens it."""

    kind, target = wanted.kind, wanted.target
    exposures = {(e.asset.name.casefold(), str(e.asset.build)): e for e in assess_exposure(config, engine, now)}
    matching = [
        e
        for (name, build), e in exposures.items()
        if (kind is SnoozeKind.ASSET and name == target.casefold()) or (kind is SnoozeKind.BUILD and build == target)
    ]
    print_ = fingerprint(matching[0]) if matching and kind is SnoozeKind.ASSET else ""
    if kind is SnoozeKind.ADVISORY:
        print_ = _advisory_label(engine, target)
    with session_scope(engine) as session:
        return snoozes.add(session, replace(wanted, fingerprint=print_), now)


def _advisory_label(engine: Engine, advisory_id: str) -> str:
    """The advisory's label at its current revision (VMSA-2021-0028.1), or "" when it is not known yet."""

    with session_scope(engine) as session:
        stored = load_advisories(session).get(advisory_base(advisory_id))
    return stored.label if stored else ""
