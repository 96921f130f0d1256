"""What the inventory commands print: the import's changes (and a progress bar while reading), assets, exposure."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

from tracker.cli.output import echo_json, esc, rich_console, rich_table
from tracker.domain.exposure import Exposure
from tracker.domain.exposure_filter import severity_counts
from tracker.domain.inventory import Asset, ImportPlan, ImportResult
from tracker.domain.words import count
from tracker.listings import ExposureRows, asset_item, exposure_item, import_item


class _RowProgress:
    """A progress bar on stderr while a large file is read (only on a terminal)."""

    def __init__(self, label: str, total: int | None, enabled: bool) -> None:
        self.label, self.total, self.enabled = label, total, enabled
        self._progress: Any = None
        self._task: Any = None

    def __enter__(self) -> _RowProgress:
        if self.enabled:
            # lazy: rich, only for an import that shows a bar on a terminal
            from rich.console import Console
            from rich.progress import Progress as Bar

            self._progress = Bar(console=Console(stderr=True), transient=True)
            self._progress.start()
            self._task = self._progress.add_task(f"reading {self.label}", total=self.total)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.stop()

    def __call__(self, rows: int) -> None:
        if self._progress is not None:
            self._progress.update(self._task, completed=rows, description=f"reading {self.label}: {rows:,} rows")


def row_progress(label: str, total: int | None, enabled: bool) -> _RowProgress:
    return _RowProgress(label, total, enabled)


def import_view(target: str, result: ImportResult, plan: ImportPlan, dry_run: bool, as_json: bool) -> None:
    if as_json:
        echo_json(import_item(target, result, plan, dry_run))
        return
    console = rich_console()
    verb = "would change" if dry_run else "imported"
    console.print(
        f"{esc(target)}: {count(len(result.assets), 'asset')} read; {verb}: {len(plan.added)} added, "
        f"{len(plan.updated)} updated, {len(plan.removed)} removed, {len(plan.unchanged)} unchanged"
    )
    for warning in result.warnings:
        console.print(f"  [yellow]warning[/]: {esc(warning)}")
    for label, names in (
        ("added", [a.name for a in plan.added]),
        ("updated", [f"{after.name} ({_change(before, after)})" for before, after in plan.updated]),
        ("removed (no longer listed)", [a.name for a in plan.removed]),
    ):
        if names:
            shown = ", ".join(names[:20]) + (f" and {len(names) - 20} more" if len(names) > 20 else "")
            console.print(f"  {label}: {esc(shown)}")
    if dry_run:
        console.print("dry run: nothing was written")


def _change(before: Asset, after: Asset) -> str:
    fields = [
        f
        for f in ("build", "cluster", "vcenter", "datacenter", "owner", "tags", "vibs")
        if getattr(before, f) != getattr(after, f)
    ]
    if before.build != after.build:
        fields[0] = f"build {before.build} -> {after.build}"
    return ", ".join(fields) or "details"


def assets_view(assets: Sequence[Asset], as_json: bool) -> None:
    if as_json:
        echo_json([asset_item(a) for a in assets])
        return
    table = rich_table(count(len(assets), "asset"), ["name", "kind", "build", "version", "vcenter", "cluster", "vibs"])
    for a in assets:
        table.add_row(
            esc(a.name),
            a.kind.value,
            str(a.build or ""),
            esc(a.version_text),
            esc(a.vcenter),
            esc(a.cluster),
            esc(", ".join(v.name for v in a.vibs)),
        )
    rich_console().print(table)


# --- exposure --------------------------------------------------------------------------------------------------
_SEVERITY_STYLE = {"critical": "bold red", "important": "red", "moderate": "yellow", "low": "cyan", "none": "green"}


def exposure_view(results: Sequence[Exposure], as_json: bool) -> None:
    if as_json:
        if len(results) <= 1000:
            echo_json([exposure_item(r) for r in results])
        else:
            _stream_rows(results)
        return
    columns = ["asset", "cluster", "runs", "status", "severity", "target", "why"]
    table = rich_table(f"{count(len(results), 'asset')}, worst first", columns)
    for r in results:
        runs = f"{r.release.short if r.release else '?'} ({r.asset.build or '?'})"
        target = r.advice.removeprefix("upgrade to ") if r.recommended else (r.hold and "hold") or "-"
        why = "; ".join(
            [*(x for x in r.reasons if x not in r.caveats or not r.recommended), *([r.hold] if r.hold else [])]
        )
        style = _SEVERITY_STYLE[r.severity.value]
        table.add_row(
            esc(r.asset.name),
            esc(r.asset.cluster),
            esc(runs),
            ", ".join(s.value for s in r.statuses),
            f"[{style}]{r.severity.value}[/]",
            esc(target),
            esc(why),
        )
    console = rich_console()
    console.print(table)
    console.print(severity_summary(results))


def _stream_rows(results: Sequence[Exposure]) -> None:
    """A long listing as a JSON array written a row at a time (one per line, compact): no list of dicts and no
    whole text in memory (100,000 rows peaked near 500 MiB that way)."""
    encode = ExposureRows().encode
    write = sys.stdout.write
    write("[")
    for n, row in enumerate(results):
        write(("\n" if n == 0 else ",\n") + encode(row))
    write("\n]\n")


def severity_summary(results: Sequence[Exposure]) -> str:
    """The assets listed by severity, exactly (the overview's cards: the same `severity_counts`)."""
    found = severity_counts(list(results))
    return "by severity: " + ", ".join(f"{n} {severity.value}" for severity, n in found.items())
