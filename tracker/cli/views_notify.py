"""What the alert commands print: tables for people, JSON for scripts. Targets appear in their privacy form only."""

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from tracker.cli.output import echo_json, esc, rich_console, rich_table
from tracker.domain.alerts import Watchlist
from tracker.domain.clock import human
from tracker.domain.inventory import Asset
from tracker.domain.words import count
from tracker.listings import delivery_item, snooze_item, watchlist_item
from tracker.store.records import DeliveryAttempt, OutboxMessage, SnoozeRecord


def notify_test_view(channel: str, outcomes: Sequence[Any], as_json: bool) -> None:
    data = [{"target": o.target, "ok": o.ok, "permanent": o.permanent, "error": o.error} for o in outcomes]
    if as_json:
        echo_json({"channel": channel, "targets": data})
        return
    console = rich_console()
    for item in data:
        verdict = "[green]sent[/]" if item["ok"] else ("[red]refused[/]" if item["permanent"] else "[yellow]failed[/]")
        console.print(f"{esc(item['target'])}: {verdict}" + (f" ({esc(item['error'])})" if item["error"] else ""))


def watchlists_view(found: Sequence[Watchlist], configured: set[str], as_json: bool) -> None:
    data = [watchlist_item(w, w.name in configured) for w in found]
    if as_json:
        echo_json(data)
        return
    table = rich_table(count(len(data), "watchlist"), ["name", "owner", "events", "selects", "immediate", "digest"])
    for d in data:
        selects = (
            "; ".join(f"{k}: {', '.join(d[k])}" for k in ("products", "lines", "vcenters", "clusters", "tags") if d[k])
            or "everything"
        )
        table.add_row(
            esc(d["name"]),
            esc(d["owner"]),
            esc(", ".join(d["events"]) or "all") + _at_least(d["min_severity"]),
            esc(selects),
            esc(", ".join(d["immediate"])),
            esc(", ".join(d["digest"])),
        )
    rich_console().print(table)


def _at_least(severity: str) -> str:
    """What a watchlist's min_severity adds to its events: nothing for "none" (every severity), else "(important or
    higher)"."""
    return "" if severity == "none" else f" ({severity} or higher)"


def watchlist_detail_view(watchlist: Watchlist, assets: Sequence[Asset], as_json: bool) -> None:
    data = {**watchlist_item(watchlist, False), "assets": [a.name for a in assets]}
    data.pop("from")
    if as_json:
        echo_json(data)
        return
    console = rich_console()
    for key, value in data.items():
        if key != "assets":
            console.print(f"{key}: {esc(', '.join(value) if isinstance(value, list) else value)}")
    console.print(
        f"assets selected: {len(assets)}"
        + (f" ({esc(', '.join(data['assets'][:20]))}" + (" ..." if len(assets) > 20 else "") + ")" if assets else "")
    )


def snoozes_view(rows: Sequence[SnoozeRecord], now: datetime, as_json: bool, zone: str = "UTC") -> None:
    data = [snooze_item(r, now) for r in rows]
    if as_json:
        echo_json(data)
        return
    table = rich_table(count(len(data), "snooze"), ["id", "what", "until", "state", "reason"])
    for d in data:
        table.add_row(
            str(d["id"]), esc(f"{d['kind']} {d['target']}"), human(d["until"], zone), d["state"], esc(d["reason"])
        )
    rich_console().print(table)


def deliveries_view(
    rows: Sequence[tuple[OutboxMessage, Sequence[DeliveryAttempt]]], as_json: bool, zone: str = "UTC"
) -> None:
    data = [delivery_item(row, attempts) for row, attempts in rows]
    if as_json:
        echo_json(data)
        return
    table = rich_table(
        count(len(data), "delivery"), ["id", "channel", "status", "tries", "what", "last error / next try"]
    )
    for d in data:
        note = d["last_error"] or ""
        if d["next_attempt_at"] and d["attempts"]:
            note += f" (next try {human(d['next_attempt_at'], zone)})"
        table.add_row(str(d["id"]), esc(d["channel"]), d["status"], str(d["attempts"]), esc(d["what"]), esc(note))
    rich_console().print(table)
