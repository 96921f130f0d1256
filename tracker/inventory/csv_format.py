"""Our own inventory CSV (config/inventory.example.csv shows it).

Lines starting with `#` are comments. A header row names the columns, in any order: `name, kind, build, version,
vcenter, datacenter, cluster, tags, owner, vibs`. `name` and one of `build` / `version` are required; tags are
separated by `;`, VIBs are written `i40en=1.10.6;i40enu=1.8.1`. Other columns are ignored with a warning.
"""

import csv
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

from tracker.domain.inventory import Asset, ImportResult, Vib
from tracker.domain.words import noun
from tracker.inventory.fields import FIELDS, Record, Report, VibsError, asset_from_record, clash, parse_vibs, split_tags
from tracker.inventory.table import (
    Columns,
    Duplicates,
    Problems,
    Progress,
    RowCounter,
    VersionReader,
    csv_rows,
    decode,
    failure,
    find_columns,
    header_failure,
    normalize_header,
    numbered,
    result,
)

WANTED = {field: (field,) for field in FIELDS}


def read(path: Path, progress: Progress | None = None) -> ImportResult:
    """Every asset in the file, or every problem with it."""
    rows = csv_rows(decode(path.read_bytes()))
    counter = RowCounter(progress)
    try:
        found = _header(rows)
        if found is None:
            return failure(str(path), "the file is empty")
        number, header = found
        columns = find_columns(header, WANTED)
        missing = _missing(columns)
        if missing:
            return header_failure(str(path), columns.missing_message(missing), number)
        imported = _read_rows(path, columns, numbered(rows, counter, number + 1), _ignored(header))
    except csv.Error as error:  # a runaway quoted field
        return failure(str(path), f"not a CSV file we can read: {error}")
    counter.done()
    return imported


def _header(rows: Iterator[list[str]]) -> tuple[int, list[str]] | None:
    """The header row and its number: the first row that is neither blank nor a `#` comment."""
    for number, row in enumerate(rows, start=1):
        if any(cell.strip() for cell in row) and not _comment(row):
            return number, row
    return None


def _comment(row: Sequence[object]) -> bool:
    return bool(row) and str(row[0]).lstrip().startswith("#")


def _missing(columns: Columns) -> list[str]:
    missing = [] if "name" in columns.index else ["'name'"]
    if "build" not in columns.index and "version" not in columns.index:
        missing.append("'build' or 'version'")
    return missing


def _ignored(header: list[str]) -> list[str]:
    extra = [name.strip() for name in header if name.strip() and normalize_header(name) not in FIELDS]
    ignored = f"ignored {noun(len(extra), 'column')} {', '.join(map(repr, extra))}"
    return [f"{ignored}: ours are {', '.join(FIELDS)}"] if extra else []


def _read_rows(
    path: Path, columns: Columns, rows: Iterable[tuple[int, Sequence[object]]], warnings: list[str]
) -> ImportResult:
    problems = Problems(str(path))
    versions, duplicates = VersionReader(), Duplicates()
    assets: list[Asset] = []
    for number, row in rows:
        if _comment(row):
            continue
        record, asset = _asset(path, number, row, columns, problems, versions)
        duplicate = clash(record, duplicates, f"row {number}")
        if duplicate:
            problems.add(number, columns.name("name"), duplicate)
        if asset is not None:
            assets.append(asset)
    if not assets and not problems.items:
        problems.add(None, None, "no assets below the header")
    return result(assets, problems.items, warnings)


def _asset(
    path: Path, number: int, row: Sequence[object], columns: Columns, problems: Problems, versions: VersionReader
) -> tuple[Record, Asset | None]:
    def report(field: str, message: str) -> None:
        problems.add(number, columns.name(field), message)

    vibs, vibs_ok = _vibs(columns.cell(row, "vibs"), report)
    record = _record(row, columns, vibs)
    asset = asset_from_record(record, report, versions, str(path))
    return record, (asset if vibs_ok else None)


def _vibs(text: str, report: Report) -> tuple[tuple[Vib, ...], bool]:
    try:
        return parse_vibs(text), True
    except VibsError as error:
        report("vibs", str(error))
        return (), False


def _record(row: Sequence[object], columns: Columns, vibs: tuple[Vib, ...]) -> Record:
    cell = columns.cell
    return Record(
        name=cell(row, "name"),
        kind=cell(row, "kind"),
        build=cell(row, "build"),
        version=cell(row, "version"),
        vcenter=cell(row, "vcenter"),
        datacenter=cell(row, "datacenter"),
        cluster=cell(row, "cluster"),
        tags=split_tags(cell(row, "tags")),
        owner=cell(row, "owner"),
        vibs=vibs,
    )
