"""What the file readers share: collecting problems, finding columns by name, reading CSV text, parsing versions
once per distinct text, and spotting assets listed twice."""

import csv
import io
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass

from tracker.domain.inventory import Asset, AssetKind, ImportProblem, ImportResult
from tracker.domain.version_grammar import parse_build
from tracker.domain.versions import Build, VersionError

Progress = Callable[[int], None]
PROGRESS_EVERY = 1000  # rows between two progress calls

EXAMPLE_VERSION = {
    AssetKind.ESXI: "VMware ESXi 7.0.3 build-18644231",
    AssetKind.VCENTER: "VMware vCenter Server 7.0.3 build-19234570",
    AssetKind.VM: "12448 (vCenter's toolsVersion for VMware Tools 12.5.0) or 12.5.0",
}
KIND_LABEL = {AssetKind.ESXI: "ESXi host", AssetKind.VCENTER: "vCenter", AssetKind.VM: "VM"}


class Problems:
    """The problems found in one file (or one sheet of a workbook), in the order they were found."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.items: list[ImportProblem] = []

    def add(self, row: int | None, column: str | None, message: str) -> None:
        self.items.append(ImportProblem(self.file, row, column, message))


def failure(file: str, message: str) -> ImportResult:
    """The result for a file that cannot be read at all."""
    return ImportResult(problems=(ImportProblem(file, None, None, message),))


def normalize_header(text: object) -> str:
    """`ESX Version`, ` esx  version `, `\\ufeffESX Version` all become `esx version`."""
    return " ".join(str(text or "").replace("\ufeff", " ").split()).casefold()


@dataclass(frozen=True)
class Columns:
    """Where the wanted columns sit in one header row, found by name (RVTools moves and adds columns)."""

    index: Mapping[str, int]  # key -> position
    names: Mapping[str, str]  # key -> the header as the file spells it
    found: tuple[str, ...]  # every header in the file, as spelled

    def cell(self, row: Sequence[object], key: str) -> str:
        position = self.index.get(key)
        if position is None or position >= len(row):
            return ""
        return cell_text(row[position])

    def name(self, key: str) -> str:
        return self.names.get(key, key)

    def missing_message(self, missing: Sequence[str]) -> str:
        found = ", ".join(repr(name) for name in self.found if name.strip()) or "none"
        label = "column" if len(missing) == 1 else "columns"
        return f"missing {label} {'; '.join(missing)} (columns found: {found})"


def cell_text(value: object) -> str:
    """A cell as text: CSV cells are text already; a workbook gives None, numbers and dates."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # a build number typed into Excel comes back as 18644231.0
    return str(value).strip()


def find_columns(header: Sequence[str], wanted: Mapping[str, tuple[str, ...]]) -> Columns:
    """Map each wanted key to the first header that matches one of its spellings, case and space insensitive."""
    positions = {normalize_header(name): i for i, name in reversed(list(enumerate(header)))}
    index: dict[str, int] = {}
    names: dict[str, str] = {}
    for key, spellings in wanted.items():
        for spelling in spellings:
            position = positions.get(normalize_header(spelling))
            if position is not None:
                index[key], names[key] = position, header[position].strip()
                break
    return Columns(index, names, tuple(str(name).strip() for name in header))


# --- CSV text ---------------------------------------------------------------------------------------------------
def decode(data: bytes) -> str:
    """Text from the bytes of a CSV file: UTF-8 (with or without BOM), UTF-16 with BOM, else Windows-1252, which
    Excel on Windows still writes."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def csv_rows(text: str) -> Iterator[list[str]]:
    """The records of a CSV text; the delimiter (`,` `;` or tab, by locale) is the one the header line (the first
    that is not blank or a `#` comment) uses most."""
    lines = (line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#"))
    first_line = next(lines, "")
    delimiter = max((",", ";", "\t"), key=first_line.count)
    return csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)


class RowCounter:
    """Counts the rows read, across every sheet of a file, and tells `progress` every 1000 rows."""

    def __init__(self, progress: Progress | None) -> None:
        self.progress = progress
        self.count = 0

    def step(self) -> None:
        self.count += 1
        if self.progress is not None and self.count % PROGRESS_EVERY == 0:
            self.progress(self.count)

    def done(self) -> None:
        if self.progress is not None:
            self.progress(self.count)


def numbered(
    rows: Iterable[Sequence[object]], counter: RowCounter, start: int = 2
) -> Iterator[tuple[int, Sequence[object]]]:
    """Data rows with their spreadsheet row number (the header, already taken, was row 1); blank rows skipped."""
    for number, row in enumerate(rows, start=start):
        counter.step()
        if not _blank(row):
            yield number, row


def _blank(row: Sequence[object]) -> bool:
    # Stops at the first filled cell, which is nearly always the first one.
    return not any(cell is not None and str(cell).strip() for cell in row)


def header_failure(file: str, message: str, row: int = 1) -> ImportResult:
    """The result for a file whose header row lacks what we need."""
    return ImportResult(problems=(ImportProblem(file, row, None, message),))


# --- versions and duplicates -------------------------------------------------------------------------------------
class VersionReader:
    """parse_build once per distinct text: an inventory repeats a handful of versions over thousands of rows."""

    def __init__(self) -> None:
        self._cache: dict[tuple[str, AssetKind], Build | None] = {}

    def parse(self, text: str, kind: AssetKind) -> Build | None:
        """The build the text spells for this kind of asset, or None when it spells none we understand."""
        key = (text, kind)
        if key not in self._cache:
            try:
                self._cache[key] = parse_build(text, kind.product)
            except VersionError:
                self._cache[key] = None
        return self._cache[key]


def version_message(text: str, kind: AssetKind) -> str:
    return f"cannot read the version {text!r}: expected e.g. {EXAMPLE_VERSION[kind]!r}"


class Duplicates:
    """Remembers where each asset key was first seen, to name both places when it comes again."""

    def __init__(self) -> None:
        self._seen: dict[tuple[AssetKind, str], str] = {}

    def message(self, kind: AssetKind, name: str, where: str) -> str | None:
        """None the first time a (kind, name) is seen, case-insensitive; after that, the problem to report."""
        key = (kind, name.casefold())
        first = self._seen.get(key)
        if first is None:
            self._seen[key] = where
            return None
        return f"{KIND_LABEL[kind]} {name!r} is listed twice: {first} and {where}"


def result(assets: list[Asset], problems: Iterable[ImportProblem], warnings: Iterable[str] = ()) -> ImportResult:
    """All or nothing: no assets when there is any problem."""
    found = tuple(problems)
    return ImportResult(assets=() if found else tuple(assets), problems=found, warnings=tuple(warnings))
