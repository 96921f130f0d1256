"""The write side of the web face, shared by `/api/v1` and the pages' forms: the same use cases and checks as the
CLI's `snooze add`, `watch add`, `deliveries retry` and `inventory import` (tracker/jobs/), so a write means the
same wherever it comes from. Each refusal is a WriteRefused with its HTTP status and its problems, field by field.
The caller has checked the write token (tracker/web/auth.py)."""

import tempfile
from pathlib import Path
from typing import Any

from tracker.domain.alerts import SnoozeKind
from tracker.inventory.files import FORMAT_CHOICES, read_inventory
from tracker.jobs.alerts import Refused, plan_snooze, snooze
from tracker.jobs.alerts import add_watchlist as add
from tracker.jobs.inventory import ImportMode
from tracker.jobs.inventory import import_inventory as apply_import
from tracker.listings import delivery_item, import_item, snooze_item, watchlist_item
from tracker.notify.pipeline import to_watchlist
from tracker.store import snoozes as stored_snoozes
from tracker.store import watchlists as stored_watchlists
from tracker.store.db import session_scope
from tracker.store.outbox import deliveries, retry
from tracker.web.context import WebContext


class WriteRefused(Exception):
    """422 (a bad value), 404 (nothing of that id) or 409 (not the web's to change)."""

    def __init__(self, status: int, problems: list[dict[str, str]]) -> None:
        super().__init__("; ".join(f"{p['field']}: {p['message']}" for p in problems))
        self.status, self.problems = status, problems


def _refused(status: int, field: str, message: str) -> WriteRefused:
    return WriteRefused(status, [{"field": field, "message": message}])


def add_snooze(ctx: WebContext, kind: str, target: str, until: str, reason: str) -> dict[str, Any]:
    """A snooze of an asset, a build or an advisory until a date in the future, with a reason."""

    targets: dict[str, str | None] = {k: None for k in SnoozeKind}
    if kind not in targets:
        raise _refused(422, "kind", f"expected asset, build or advisory, got {kind!r}")
    if kind == SnoozeKind.BUILD and not target.strip().isdigit():
        raise _refused(422, "build", f"expected a build number, got {target!r}")
    targets[kind] = target.strip()
    now = ctx.now
    try:
        wanted = plan_snooze(targets, until, reason, now, ctx.config.timezone)
    except Refused as error:
        raise WriteRefused(422, [{"field": f, "message": m} for f, m in error.problems]) from None
    snooze_id = snooze(ctx.config, ctx.engine, wanted, now)
    ctx.exposure.changed()
    with session_scope(ctx.engine) as session:
        row = next(r for r in stored_snoozes.every(session) if r.id == snooze_id)
        return snooze_item(row, now)


def remove_snooze(ctx: WebContext, snooze_id: int) -> None:
    with session_scope(ctx.engine) as session:
        if not stored_snoozes.end(session, snooze_id, "removed", ctx.now):
            raise _refused(404, "id", f"no standing snooze {snooze_id}")
    ctx.exposure.changed()


def add_watchlist(ctx: WebContext, spec: dict[str, Any]) -> dict[str, Any]:
    """A watchlist stored beside the config's, checked as `tracker watch add` checks it."""

    try:
        checked = add(ctx.config, ctx.engine, spec, ctx.now)
    except Refused as error:
        status = 409 if any("exists already" in m or "in the config" in m for _, m in error.problems) else 422
        raise WriteRefused(status, [{"field": f, "message": m} for f, m in error.problems]) from None
    return watchlist_item(to_watchlist(checked), False)


def remove_watchlist(ctx: WebContext, name: str) -> None:
    if any(w.name == name for w in ctx.config.watchlists):
        raise _refused(409, "name", f"{name!r} is defined in the config: remove it there")
    with session_scope(ctx.engine) as session:
        if not stored_watchlists.remove(session, name):
            raise _refused(404, "name", f"no watchlist named {name!r}")


def retry_delivery(ctx: WebContext, outbox_id: int) -> dict[str, Any]:
    """Queue a waiting or failed delivery again now; the senders (of `tracker run`) send it on their next look."""

    if not retry(ctx.engine, outbox_id, ctx.now):
        raise _refused(404, "id", f"no delivery {outbox_id} waiting or failed")
    with session_scope(ctx.engine) as session:
        row, attempts = next((r, a) for r, a in deliveries(session) if r.id == outbox_id)
        return delivery_item(row, attempts)


def import_inventory(
    ctx: WebContext, data: bytes, filename: str, fmt: str, replace: bool, dry_run: bool
) -> dict[str, Any]:
    """The same import as `tracker inventory import --json`: all or nothing, every problem located."""

    if fmt not in FORMAT_CHOICES:
        raise _refused(422, "format", f"expected one of {', '.join(FORMAT_CHOICES)}, got {fmt!r}")
    name = Path(filename or "inventory").name or "inventory"
    with tempfile.TemporaryDirectory(prefix="tracker-import-") as folder:
        path = Path(folder) / name  # the readers take a path, and recognise a file by its name and first bytes
        path.write_bytes(data)
        result = read_inventory(path, fmt)
    if not result.ok:
        raise WriteRefused(422, [_problem(p) for p in result.problems])
    plan = apply_import(ctx.engine, result, name, ctx.now, ImportMode(replace, dry_run))
    ctx.exposure.changed()  # the next page shows the hosts just imported
    return import_item(name, result, plan, dry_run)


def _problem(problem: Any) -> dict[str, Any]:
    where = [f"row {problem.row}"] if problem.row is not None else []
    where += [f"column {problem.column}"] if problem.column else []
    return {
        "field": ", ".join(where) or "file",
        "message": problem.message,
        "row": problem.row,
        "column": problem.column,
    }
